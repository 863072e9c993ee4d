// The digits demo: a drawing pad -> demo_site/py/digits (the drawing cut down to 8x8, in Python)
// -> the CNN of examples/digits/train.py on the GPU -> the likeliest digits.
//
// It classifies while you draw (at most every THROTTLE_MS during a stroke) and when a stroke
// ends; a drawing that changes while the model runs is classified again right after, so the
// result always ends on the final drawing. window.__demo gets the last input (64 floats),
// logits, probabilities, stage times, a run count, and `pending` (a run is due or running).

import { startDemo } from "../common/demo.js";

const THROTTLE_MS = 100;
const $ = (id) => document.getElementById(id);

async function main() {
  const demo = await startDemo({ title: "Handwritten digits", models: ["digits"], python: ["digits"] });
  const model = demo.models.digits;
  const { digits } = demo.py;
  const state = Object.assign(demo.state, { runs: 0, pending: false, input: null, logits: null, probs: null, top: null, timing: null });

  const pad = $("pad");
  const ctx = pad.getContext("2d", { willReadFrequently: true });
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.lineWidth = pad.width * 0.1; // about the data's stroke: its ink covers ~30% of the 32x32 box
  ctx.strokeStyle = ctx.fillStyle = "#161b26";

  // --- classification ------------------------------------------------------------------------
  let busy = false, again = false, timer = null;
  const recent = []; // end times of the last runs, for the fps shown

  async function classify() {
    clearTimeout(timer);
    timer = null;
    state.pending = true;
    if (busy) return void (again = true);
    busy = true;
    try {
      do {
        again = false;
        await runOnce();
      } while (again);
    } catch (e) {
      demo.error(e, "The model could not run");
    } finally {
      busy = false;
      state.pending = !!timer;
    }
  }

  function soon() {
    state.pending = true;
    timer ??= setTimeout(classify, THROTTLE_MS);
  }

  async function runOnce() {
    const t0 = performance.now();
    const image = ctx.getImageData(0, 0, pad.width, pad.height); // capture: the canvas's pixels
    const t1 = performance.now();
    const x = digits.to_8x8(image.data, pad.width, pad.height); // preprocess: Python, one implementation
    const input = x ? x.toJs() : null;
    x?.destroy();
    const t2 = performance.now();
    if (!input) return show(null);
    const out = await model.predict({ image: { data: Float32Array.from(input), shape: [1, 1, 8, 8] } });
    const t3 = performance.now();
    const logits = Array.from(out.logits.data);
    const r = digits.top_classes(logits, 3);
    const [probs, top] = r.toJs();
    r.destroy();
    show({ input, logits, probs, top });
    const t4 = performance.now();
    const m = model.lastTiming();
    state.timing = { capture_ms: t1 - t0, preprocess_ms: t2 - t1, model_ms: t3 - t2, postprocess_ms: t4 - t3 };
    state.runs++;
    // classifications per second while drawing: a pause of more than a second starts over
    if (t4 - recent[recent.length - 1] > 1000) recent.length = 0;
    recent.push(t4);
    if (recent.length > 10) recent.shift();
    demo.stats.show({
      ...state.timing,
      fps: recent.length > 1 ? (1000 * (recent.length - 1)) / (recent[recent.length - 1] - recent[0]) : 0,
      note: `run ${state.runs}; model: Python ${m.python_ms.toFixed(1)} ms, upload ${m.upload_ms.toFixed(1)}, GPU ${m.replay_ms.toFixed(1)}, read back ${m.read_ms.toFixed(1)}`,
    });
  }

  // --- display ---------------------------------------------------------------------------------
  const bars = $("bars");
  const rows = Array.from({ length: 10 }, (_, d) => {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td class="d">${d}</td><td><div class="b"></div></td><td class="p"></td>`;
    bars.append(tr);
    return tr;
  });
  const seen = $("seen").getContext("2d");

  function show(r) {
    Object.assign(state, r || { input: null, logits: null, probs: null, top: null });
    const [best, ...rest] = r ? r.top : [];
    $("guess").textContent = best ? best[0] : "?";
    $("sure").textContent = best ? `${(100 * best[1]).toFixed(best[1] > 0.995 ? 1 : 0)}% sure` : "draw a digit";
    $("others").textContent = rest.length ? `then ${rest.map(([d, p]) => `${d} (${(100 * p).toFixed(1)}%)`).join(", ")}` : "\u00a0";
    rows.forEach((tr, d) => {
      const p = r ? r.probs[d] : 0;
      tr.className = best && d === best[0] ? "top" : "";
      tr.querySelector(".b").style.width = `${(100 * p).toFixed(1)}%`;
      tr.querySelector(".p").textContent = r ? `${(100 * p).toFixed(1)}%` : "";
    });
    const px = seen.createImageData(8, 8);
    for (let i = 0; i < 64; i++) {
      const v = 255 - Math.round(255 * (r ? r.input[i] : 0));
      px.data.set([v, v, v, 255], 4 * i);
    }
    seen.putImageData(px, 0, 0);
  }

  // --- drawing: pointer events cover mouse, touch and pen ------------------------------------
  let last = null;
  const at = (e) => {
    const b = pad.getBoundingClientRect();
    return [((e.clientX - b.left) * pad.width) / b.width, ((e.clientY - b.top) * pad.height) / b.height];
  };
  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    last = at(e);
    ctx.beginPath();
    ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    soon();
  });
  pad.addEventListener("pointermove", (e) => {
    if (!last) return;
    ctx.beginPath();
    ctx.moveTo(...last);
    for (const ev of e.getCoalescedEvents?.() ?? [e]) ctx.lineTo(...(last = at(ev)));
    ctx.stroke();
    soon();
  });
  const end = () => {
    if (!last) return;
    last = null;
    classify(); // a finished stroke: now
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);

  const clear = () => {
    ctx.clearRect(0, 0, pad.width, pad.height);
    classify();
  };
  $("clear").addEventListener("click", clear);
  document.addEventListener("keydown", (e) => e.key === "Escape" && clear());
  show(null);
}

main().catch(() => {}); // startDemo has shown the error on the page
