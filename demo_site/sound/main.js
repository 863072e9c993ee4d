// The sound demo: microphone -> log-mel frames (webflow.microphone: the front end of
// webflow_py/audio_features.py, computed as the audio arrives) -> the CNN of
// examples/sound/train.py on the newest second, every STEP_FRAMES new frames (the GPU) ->
// demo_site/py/sound (Python: smoothing, debounce, actions) -> the ball, the light, the colour.
//
// window.__demo gets, for the tests: listening, runs, frames (log-mel frames heard so far),
// input (the last model input, as numbers), logits, probs, decision, history (per run: the
// top class and the decision), events ([run, class, action]), board, timing and fps.

import { startDemo } from "../common/demo.js";

const STEP_FRAMES = 10; // one run per 100 ms of audio (frames are 10 ms apart)
const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const demo = await startDemo({ title: "Sound control", models: ["sound"], python: ["sound"] });
  const model = demo.models.sound;
  const spec = model.py.spec;
  const meta = pyToJs(spec.metadata); // labels.json of examples/sound/train.py (demo.py puts it there)
  spec.destroy();
  const { labels, window_frames: frames } = meta;
  const { n_mels: nMels, sample_rate: rate, hop_length: hop } = meta.audio_features;
  const { sound } = demo.py;
  const actions = pyToJs(sound.ACTIONS);
  const state = Object.assign(demo.state, {
    listening: false, runs: 0, frames: 0, input: null, logits: null, probs: null, decision: "background",
    history: [], events: [], board: null, timing: null, fps: 0,
  });
  const rows = probabilityRows(labels, actions);
  const spectrogram = $("spectrogram").getContext("2d");
  let listener = null, openMic = null;

  // --- one run: the newest window -> model -> Python -> the page ------------------------------
  const recent = []; // times of the last runs, for fps
  let blocksSeen = 0;

  async function runOnce(mic) {
    const t0 = performance.now();
    const heard = mic.stats(); // blocks and frames so far, ms of log-mel per block
    const x = mic.features(frames, { shape: [1, 1, frames, nMels] }); // capture: the window out of the ring
    const t1 = performance.now();
    // preprocess: the log-mel of the audio since the last run, computed block by block as it arrived
    const preprocessMs = (heard.blocks - blocksSeen) * heard.features_ms_per_block;
    blocksSeen = heard.blocks;
    const out = await model.predict({ logmel: x });
    const t2 = performance.now();
    const logits = Array.from(out.logits.data);
    const r = pyToJs(listener.step(logits, state.runs));
    show(r, x.data);
    const t3 = performance.now();
    recent.push(t3);
    if (recent.length > 11) recent.shift();
    Object.assign(state, {
      runs: state.runs + 1, frames: heard.frames, input: Array.from(x.data), logits, probs: r.probs, decision: r.decision,
      board: r.board, fps: recent.length > 1 ? (1000 * (recent.length - 1)) / (t3 - recent[0]) : 0,
      timing: { capture_ms: t1 - t0, preprocess_ms: preprocessMs, model_ms: t2 - t1, postprocess_ms: t3 - t2 },
    });
    state.history.push([r.top, r.decision]);
    if (r.event) state.events.push([state.runs - 1, r.event, actions[r.event][0]]);
    const m = model.lastTiming();
    const audio = `${state.runs} runs on ${((heard.frames * hop) / rate).toFixed(1)} s of audio at ${mic.sampleRate} Hz`;
    const inModel = `Python ${m.python_ms.toFixed(1)} ms, upload ${m.upload_ms.toFixed(1)}, GPU ${m.replay_ms.toFixed(1)}, read back ${m.read_ms.toFixed(1)}`;
    demo.stats.show({ ...state.timing, fps: state.fps, note: `${audio}; model: ${inModel}` });
  }

  // Runs while `mic` is the open microphone: a stop (or a stop and a new start) during a run ends it.
  async function loop(mic) {
    let last = -STEP_FRAMES;
    while (openMic === mic) {
      if (mic.frames - last < STEP_FRAMES) {
        await sleep(10);
        continue;
      }
      last = mic.frames;
      try {
        await runOnce(mic);
      } catch (e) {
        demo.error(e, "The model could not run");
        await stop();
      }
    }
  }

  // --- start / stop (audio needs a user gesture: a click) -------------------------------------
  const button = $("listen");
  async function start() {
    button.disabled = true;
    let mic;
    try {
      mic = await demo.microphone({ keep: 2 }); // denied or absent: the page shows why (demo.js)
    } catch {
      button.disabled = false;
      return;
    }
    openMic = mic;
    listener?.destroy();
    listener = sound.Listener(labels);
    blocksSeen = mic.stats().blocks;
    state.listening = true;
    button.textContent = "Stop listening";
    button.disabled = false;
    $("status").textContent = "listening: whistle up or down, whistle a steady note, clap, or hum";
    loop(mic);
  }

  async function stop() {
    state.listening = false;
    button.textContent = "Start listening";
    $("status").textContent = "not listening";
    const mic = openMic;
    openMic = null;
    await mic?.close();
  }
  button.addEventListener("click", () => (state.listening ? stop() : start()));
  button.disabled = false;

  // --- display ------------------------------------------------------------------------------
  function show(r, features) {
    labels.forEach((label, k) => {
      const row = rows[label];
      row.className = label === r.decision && label !== "background" ? "top" : "";
      row.querySelector(".b").style.width = `${(100 * r.smoothed[k]).toFixed(1)}%`;
      row.querySelector(".p").textContent = `${(100 * r.smoothed[k]).toFixed(0)}%`;
    });
    $("decision").textContent = r.decision === "background" ? "…" : r.decision;
    const ball = $("ball");
    ball.style.bottom = `calc(${(100 * r.board.height).toFixed(1)}% - ${(r.board.height * 44).toFixed(1)}px)`;
    ball.style.background = r.board.colour;
    $("light").classList.toggle("on", r.board.light);
    if (r.event) {
      const li = document.createElement("li");
      li.textContent = `${r.event}: ${actions[r.event][1]}`;
      $("events").prepend(li);
      while ($("events").children.length > 6) $("events").lastChild.remove();
    }
    drawSpectrogram(spectrogram, features, frames, nMels);
  }
}

// A Python value as plain JS (dicts become objects); its proxy is freed.
function pyToJs(proxy) {
  const v = proxy.toJs({ dict_converter: Object.fromEntries });
  proxy.destroy?.();
  return v;
}

function probabilityRows(labels, actions) {
  const table = $("probs");
  return Object.fromEntries(labels.map((label) => {
    const tr = document.createElement("tr");
    const what = actions[label] ? actions[label][1] : "nothing";
    tr.innerHTML = `<td class="c">${label}<div class="muted">${what}</div></td><td><div class="b"></div></td><td class="p"></td>`;
    table.append(tr);
    return [label, tr];
  }));
}

// The model's input as an image: time left to right, low frequencies at the bottom, the window's
// loudest 12 nats (about 52 dB) from dark to bright.
function drawSpectrogram(ctx, data, frames, nMels) {
  const img = ctx.createImageData(frames, nMels);
  let top = -Infinity;
  for (const v of data) top = Math.max(top, v);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < nMels; m++) {
      const v = Math.max(0, Math.min(1, (data[t * nMels + m] - top + 12) / 12));
      const i = 4 * ((nMels - 1 - m) * frames + t);
      img.data.set([Math.round(255 * v ** 0.8), Math.round(200 * v ** 1.6), Math.round(90 + 120 * v - 60 * v * v), 255], i);
    }
  }
  ctx.putImageData(img, 0, 0);
}

main().catch(() => {}); // startDemo has shown the error on the page
