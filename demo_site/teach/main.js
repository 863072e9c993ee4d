// Teach your gestures: the shared hand pipeline (../common/hands.js: camera -> hand_landmark_lite
// on the GPU -> 21 landmarks, in Python) feeds demo_site/py/teach's Teacher, which records
// examples, trains and runs its k-NN, and plays "Simon says"; this file only draws what it returns.
//
// URL options (tests): ?seed=N fixes the game's targets; ?follow=0 keeps the hand box in the
// middle of the picture (a still video then gives the very same crop every frame). window.__demo gets {counts, prediction,
// training, game, recording} plus what hands.js keeps (demo.state.hands).

import { startDemo } from "../common/demo.js";
import { HAND_MODEL, startHands } from "../common/hands.js";

const $ = (id) => document.getElementById(id);
const now = () => performance.now() / 1000;
const pct = (x) => `${Math.round(100 * x)}%`;

// A Python result as plain JS values (None -> undefined), the proxy freed.
function js(result) {
  const v = result?.toJs ? result.toJs({ dict_converter: Object.fromEntries }) : result;
  result?.destroy?.();
  return v;
}

// A Python exception's own sentence ("ValueError: k must be ..." -> "k must be ..."), not its traceback.
function reason(e) {
  const last = String(e?.message ?? e).trim().split("\n").pop();
  return last.replace(/^[\w.]*(Error|Exception): /, "");
}

async function main() {
  const query = new URLSearchParams(location.search);
  const demo = await startDemo({ title: "Teach your gestures", models: [HAND_MODEL], python: ["hands", "teach"] });
  const { teach } = demo.py;
  const teacher = teach.Teacher();
  const state = Object.assign(demo.state, { counts: {}, prediction: null, training: null, game: null, recording: null });
  const seed = query.has("seed") ? { seed: Number(query.get("seed")) } : {};

  const message = (id, text, kind = "") => {
    $(id).textContent = text;
    $(id).className = `msg ${kind}`;
  };

  // --- the gestures and their examples -----------------------------------------------------------
  function showClasses() {
    state.counts = js(teacher.examples.counts());
    const rec = state.recording;
    $("classes").replaceChildren(...Object.entries(state.counts).map(([name, n]) => {
      const li = document.createElement("li");
      li.dataset.name = name;
      const label = Object.assign(document.createElement("span"), { className: "name", textContent: name, title: name });
      const count = Object.assign(document.createElement("span"), { className: "count", textContent: n, title: "examples" });
      const mine = rec?.name === name;
      const button = (cls, text, title) => Object.assign(document.createElement("button"), { className: cls, textContent: text, title });
      const record = button(`record${mine ? " recording" : ""}`, mine ? "Stop" : "Record", mine ? "stop recording" : "record examples of this gesture");
      li.append(label, count, record, button("clear", "Clear", "forget its examples"), button("remove", "×", "remove this gesture"));
      return li;
    }));
  }

  $("add").addEventListener("submit", (e) => {
    e.preventDefault();
    try {
      teacher.examples.add_class($("name").value);
      $("name").value = "";
      message("file-msg", "");
    } catch (err) {
      message("file-msg", reason(err), "bad");
    }
    showClasses();
  });

  $("classes").addEventListener("click", (e) => {
    const name = e.target.closest("li")?.dataset.name;
    if (!name || e.target.tagName !== "BUTTON") return;
    if (e.target.classList.contains("record")) {
      const again = state.recording?.name !== name;
      state.recording = again ? { name, left: Number($("per-record").value), startsAt: now() + Number($("delay").value) } : null;
    } else {
      if (state.recording?.name === name) state.recording = null;
      if (e.target.classList.contains("clear")) teacher.examples.clear(name);
      else {
        teacher.examples.remove_class(name);
        teacher.stop_game();
        showGame(null);
      }
      noteStale();
    }
    showClasses();
  });

  // Recording is done frame by frame in onHand: each frame with a hand adds one example.
  function recordingNow() {
    const rec = state.recording;
    const box = $("countdown");
    box.hidden = !rec;
    if (!rec) return undefined;
    const wait = rec.startsAt - now();
    box.textContent = wait > 0 ? `“${rec.name}” in ${Math.ceil(wait)}…` : `recording “${rec.name}”: ${rec.left} to go`;
    return wait > 0 ? undefined : rec.name;
  }

  function noteStale() {
    if (teacher.stale) message("train-msg", "The examples changed: train again to use them.");
  }

  // --- saving and loading ------------------------------------------------------------------------
  $("save").addEventListener("click", () => {
    const blob = new Blob([teacher.save()], { type: "application/json" });
    const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: "gesture-examples.json" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    const n = Object.values(state.counts).reduce((s, c) => s + c, 0);
    message("file-msg", `Saved ${n} examples of ${Object.keys(state.counts).length} gestures (gesture-examples.json).`, "ok");
  });

  $("load").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (!file) return;
    try {
      const counts = js(teacher.load(await file.text()));
      const n = Object.values(counts).reduce((s, c) => s + c, 0);
      state.recording = state.training = null;
      message("file-msg", `${file.name}: ${n} examples of ${Object.keys(counts).length} gestures loaded.`, "ok");
      message("train-msg", "Train to use the loaded examples.");
      showGame(null);
    } catch (err) {
      message("file-msg", `${file.name}: ${reason(err)}`, "bad"); // the examples stay as they were
    }
    showClasses();
  });

  // --- training ----------------------------------------------------------------------------------
  $("metric").append(...js(teach.METRICS).map((m) => Object.assign(document.createElement("option"), { textContent: m })));
  const maxDistance = $("max-distance");
  maxDistance.value = teach.Teacher.MAX_DISTANCE;
  const showMax = () => ($("max-distance-v").textContent = Number(maxDistance.value).toFixed(1));
  maxDistance.addEventListener("input", showMax);
  showMax();

  $("train").addEventListener("click", () => {
    try {
      const options = { k: Number($("k").value), metric: $("metric").value, max_distance: Number(maxDistance.value) };
      const t = (state.training = js(teacher.train.callKwargs(options)));
      const loo = t.loo == null ? "" : `; each example classified by the others: ${pct(t.loo)} right`;
      message("train-msg", `Trained on ${t.examples} examples of ${t.classes.length} gesture${t.classes.length > 1 ? "s" : ""}${loo}.`, "ok");
    } catch (err) {
      message("train-msg", reason(err), "bad");
    }
  });

  // --- the live prediction -----------------------------------------------------------------------
  function showPrediction(hand, p) {
    state.prediction = p ?? null;
    const guess = $("guess");
    guess.textContent = p ? p.label ?? "unknown" : "–";
    guess.className = `guess${p && p.label == null ? " unknown" : ""}`;
    $("confidence").style.width = p ? pct(p.confidence) : "0";
    const k = p ? Object.values(p.votes).reduce((s, v) => s + v, 0) : 0;
    $("guess-text").textContent = !hand.present ? "show your hand in the box"
      : !p ? (teacher.knn ? "" : "record examples of two gestures or more, then train")
      : p.label == null ? `${p.why} (closest: ${p.best})`
      : `${p.votes[p.label]} of the ${k} nearest examples agree`;
  }

  // --- the game ----------------------------------------------------------------------------------
  function showGame(g) {
    state.game = g ?? null;
    $("play").textContent = g && g.phase !== "over" ? "Restart" : g ? "Play again" : "Start";
    if (!g) {
      $("prompt").textContent = "Train two gestures, then start";
      return;
    }
    $("prompt").textContent = g.prompt;
    $("prompt").style.color = g.phase === "ask" && g.simon ? "var(--accent)" : "";
    $("time-left").style.width = g.time_left == null ? "0" : pct(g.time_left / g.time_limit);
    $("held").style.width = pct(g.held);
    $("round").textContent = `${g.round}/${g.rounds}`;
    $("score").textContent = g.score;
    const outcome = $("outcome");
    outcome.textContent = g.phase === "result" ? { hit: "Yes!", miss: "Too late", dodged: "Not fooled", caught: "Simon didn't say!" }[g.outcome] : "";
    outcome.className = `outcome ${g.phase === "result" ? g.outcome : ""}`;
  }

  $("play").addEventListener("click", () => {
    try {
      showGame(js(teacher.start_game.callKwargs(now(), { ...seed, time_limit: Number($("round-time").value) })));
    } catch (err) {
      $("prompt").textContent = reason(err);
    }
  });

  // --- every camera frame ------------------------------------------------------------------------
  showClasses();
  await startHands(demo, {
    stage: $("stage"),
    follow: query.get("follow") !== "0",
    onHand(hand) {
      const r = js(teacher.frame(hand, now(), recordingNow()));
      if (r.recorded) {
        if (--state.recording.left <= 0) state.recording = null;
        recordingNow();
        showClasses();
        noteStale();
      }
      showPrediction(hand, r.prediction);
      if (r.game) showGame(r.game);
    },
  });
}

main().catch(() => {}); // startDemo / demo.camera have shown the error on the page
