// The frame every demo page shares (demo_site/README.md): page chrome, loading progress, the
// backend in use, the FPS / per-stage latency panel, clear camera and microphone errors, the
// demo's Python in Pyodide, and offline use through the service worker.
//
//   import { startDemo } from "../common/demo.js";
//   const demo = await startDemo({ title: "Digits", models: ["digits"], python: ["digits"] });
//   demo.models.digits      // a webflow Model (webflow_js/index.js), on the GPU
//   demo.py.digits          // demo_site/py/digits/, imported in Pyodide
//   demo.stats.show({ capture_ms, preprocess_ms, model_ms, postprocess_ms, fps });
//   const cam = await demo.camera({ width: 640 });   // a MediaError is shown on the page, then thrown
//   demo.stats.follow(cam);                          // the camera's own fps and stage times
//
// For tests: window.__demo holds {ready, error, backend, offline} plus what the page adds
// (its last input and output), and window.__demoKit is the object startDemo returns.

import * as webflow from "../webflow_js/index.js";
import { loadPython } from "./python.js";

export { webflow, loadPython };

export const SITE = new URL("../", import.meta.url); // the site root: common/ sits just below it

const MB = (n) => (n / 1e6).toFixed(n < 1e7 ? 2 : 1);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k === "class" ? (e.className = v) : e.setAttribute(k, v);
  e.append(...children);
  return e;
};

/** Build the page's chrome, boot the runtime, load `models` (names: <site>/models/<name>/) and
 * `python` (packages: <site>/py/<name>/), register the service worker. Resolves to the demo
 * object once everything is ready; on failure the page shows why, and the promise rejects. */
export async function startDemo({ title = document.title, models = [], python = [] } = {}) {
  const demo = new Demo(title);
  window.__demoKit = demo;
  registerServiceWorker(demo);
  try {
    const runtimeMB = await runtimeSize();
    demo.loading(`Starting Python (Pyodide${runtimeMB ? `, ${runtimeMB} MB on the first visit` : ""})…`);
    const rt = await webflow.boot({ site: SITE, onProgress: (p) => p.message && demo.loading(`Python: ${p.message}`) });
    demo.rt = rt;
    demo.pyodide = rt.pyodide;
    demo.models = await loadModels(models, demo);
    if (python.length) demo.loading(`Loading the demo's Python (${python.join(", ")})…`);
    demo.py = await loadPython(rt.pyodide, python, SITE);
    const first = Object.values(demo.models)[0];
    demo.setBackend(first ? first.backend : rt.backend ? "webgl" : "none");
    demo.loaded();
    return demo;
  } catch (e) {
    demo.error(e, "This demo could not start");
    throw e;
  }
}

async function runtimeSize() {
  try {
    const m = await (await fetch(new URL("manifest.json", SITE))).json();
    const bytes = Object.entries(m.files).filter(([f]) => f.startsWith("pyodide/") || f === m.wheel).reduce((a, [, v]) => a + v.bytes, 0);
    return bytes ? MB(bytes) : null;
  } catch {
    return null;
  }
}

// All models at once, one bar: bytes so far over the sum of every model's bytes.
async function loadModels(names, demo) {
  const seen = Object.fromEntries(names.map((n) => [n, { loaded: 0, total: 0 }]));
  const update = () => {
    const loaded = names.reduce((a, n) => a + seen[n].loaded, 0);
    const total = names.reduce((a, n) => a + seen[n].total, 0);
    demo.loading(`Loading ${names.length > 1 ? "models" : "the model"} (${names.join(", ")}): ${MB(loaded)} / ${MB(total)} MB`, total ? loaded / total : null);
  };
  if (names.length) demo.loading(`Loading the model${names.length > 1 ? "s" : ""} (${names.join(", ")})…`);
  const models = await Promise.all(names.map((name) => webflow.load(new URL(`models/${name}/`, SITE), {
    onProgress: (p) => {
      if (p.total === undefined) return; // a boot message: shown by startDemo
      seen[name] = { loaded: p.loaded, total: p.total };
      update();
    },
  })));
  return Object.fromEntries(names.map((n, i) => [n, models[i]]));
}

export class Demo {
  constructor(title) {
    this.title = title;
    this.models = {};
    this.py = {};
    this.state = (window.__demo = { ready: false, error: null, backend: null, offline: false });
    const main = document.querySelector("main") || document.body.appendChild(el("main"));
    this.backendBadge = el("span", { class: "wf-badge", title: "where the model runs" }, "starting…");
    document.body.prepend(el("header", { class: "wf-header" }, el("a", { href: new URL("./", SITE).href }, "webflow demos"),
      el("h1", {}, title), this.backendBadge));
    this.bar = el("div");
    this.loaderText = el("div", { class: "wf-text" }, "Loading…");
    this.loader = el("div", { class: "wf-loader" }, this.loaderText, el("div", { class: "wf-bar indeterminate" }, this.bar));
    this.errorBox = el("div", { class: "wf-error", role: "alert", hidden: "" });
    this.notice = el("div", { class: "wf-notice", hidden: "" });
    main.prepend(this.loader, this.errorBox, this.notice);
    const slot = document.querySelector("[data-wf=stats]") || main.appendChild(el("div"));
    this.stats = new StatsPanel(slot);
    this.offlineNote = el("span", {}, "");
    document.body.append(el("footer", { class: "wf-footer" },
      "Runs in your browser, on your GPU, with Python (Pyodide) and webflow; nothing you draw, film or say leaves this machine. ",
      this.offlineNote));
  }

  /** Show a loading stage; `fraction` (0..1) fills the bar, null makes it indeterminate. */
  loading(text, fraction = null) {
    this.loader.hidden = false;
    this.loaderText.textContent = fraction == null ? text : `${text} (${Math.round(100 * fraction)}%)`;
    this.bar.parentElement.classList.toggle("indeterminate", fraction == null);
    if (fraction != null) this.bar.style.width = `${(100 * fraction).toFixed(1)}%`;
  }

  loaded() {
    this.loader.hidden = true;
    this.state.ready = true;
  }

  setBackend(name) {
    const gpu = name === "webgl" || name === "webgpu";
    const renderer = gpu ? webflow.capabilities().renderer : "";
    this.backendBadge.textContent = gpu ? `${name} (GPU)` : name === "numpy" ? "numpy (CPU)" : name;
    this.backendBadge.className = `wf-badge ${gpu ? "gpu" : "cpu"}`;
    if (renderer) this.backendBadge.title = `runs on: ${renderer}`;
    this.state.backend = name;
  }

  /** Show an error on the page (a MediaError with its own title, see MEDIA_TITLES). */
  error(e, title = "Something went wrong") {
    const message = e?.message || String(e);
    if (e?.name === "MediaError") title = mediaTitle(e.code, e.device);
    this.errorBox.replaceChildren(el("strong", {}, title), message);
    this.errorBox.hidden = false;
    this.loader.hidden = true;
    this.state.error = { title, message, code: e?.code ?? null };
    console.error(e);
  }

  clearError() {
    this.errorBox.hidden = true;
    this.state.error = null;
  }

  /** webflow.camera(opts); a failure (permission denied, no camera, ...) is shown, then thrown. */
  async camera(opts = {}) {
    return this._media("camera", () => webflow.camera(opts));
  }

  /** webflow.microphone(opts), the same way (call it from a click: audio needs a user gesture). */
  async microphone(opts = {}) {
    return this._media("microphone", () => webflow.microphone(opts));
  }

  async _media(device, open) {
    try {
      const dev = await open();
      this.clearError();
      return dev;
    } catch (e) {
      if (e?.name === "MediaError") e.device = device;
      this.error(e, `The ${device} could not be opened`);
      throw e;
    }
  }

  /** Show a short note above the demo (null hides it). */
  note(text) {
    this.notice.hidden = !text;
    this.notice.textContent = text || "";
  }
}

const MEDIA_TITLES = {
  "permission-denied": "Access to the {device} was blocked",
  "no-device": "No {device} found",
  "device-busy": "The {device} is busy",
  "insecure-context": "The {device} needs a secure page",
  "unsupported-settings": "The {device} cannot do what this demo asks",
  "device-lost": "The {device} stopped",
  "playback-blocked": "The {device} could not start",
  "no-gpu": "No GPU available",
};

function mediaTitle(code, device = "camera or microphone") {
  return (MEDIA_TITLES[code] || "The {device} could not be used").replace("{device}", device);
}

// --- the FPS and per-stage latency panel ------------------------------------------------------

const STAGES = [["capture", "capture"], ["preprocess", "preprocess"], ["model", "model"], ["postprocess", "postprocess"]];

/** A table of per-stage milliseconds with bars, their total, and fps when given. show() takes
 * the keys cam.stats() has ({fps, capture_ms, preprocess_ms, model_ms, postprocess_ms, dropped,
 * frames}); any other *_ms key becomes one more row. */
export class StatsPanel {
  constructor(slot) {
    this.root = el("div", { class: "wf-stats panel" }, el("h3", {}, "Latency"), el("div", { class: "muted" }, "no runs yet"));
    slot.replaceChildren(this.root);
    this.timer = null;
  }

  show(s) {
    const known = STAGES.map(([k]) => k);
    const extra = Object.keys(s).filter((k) => k.endsWith("_ms") && !known.includes(k.slice(0, -3)) && !["wait_ms", "age_ms"].includes(k));
    const rows = [...STAGES, ...extra.map((k) => [k.slice(0, -3), k.slice(0, -3).replace(/_/g, " ")])]
      .filter(([k]) => typeof s[`${k}_ms`] === "number");
    const total = rows.reduce((a, [k]) => a + s[`${k}_ms`], 0);
    const row = ([k, label]) => el("tr", {}, el("td", {}, label), el("td", { class: "bar" }, barOf(s[`${k}_ms`], total)),
      el("td", { class: "num" }, `${s[`${k}_ms`].toFixed(1)} ms`));
    const table = el("table", {}, ...rows.map(row), el("tr", { class: "total" }, el("td", {}, "total"), el("td"), el("td", { class: "num" }, `${total.toFixed(1)} ms`)));
    const head = [];
    if (typeof s.fps === "number") head.push(el("div", { class: "fps" }, `${s.fps.toFixed(1)} fps`));
    if (typeof s.dropped === "number") head.push(el("div", { class: "muted" }, `${s.frames ?? 0} frames, ${s.dropped} dropped (model busy)`));
    if (s.note) head.push(el("div", { class: "muted" }, s.note));
    this.root.replaceChildren(el("h3", {}, "Latency"), ...head, table);
  }

  /** Show cam.stats() (or any stats source) every `everyMs`; returns a function that stops. */
  follow(source, everyMs = 500) {
    clearInterval(this.timer);
    const tick = () => this.show(typeof source === "function" ? source() : source.stats());
    this.timer = setInterval(tick, everyMs);
    return () => clearInterval(this.timer);
  }
}

function barOf(ms, total) {
  const d = el("div");
  d.style.width = `${total > 0 ? (100 * ms) / total : 0}%`;
  return d;
}

// --- offline ----------------------------------------------------------------------------------

/** Register <site>/sw.js (it caches the site shell: every page then works offline). */
export function registerServiceWorker(demo = null) {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return null;
  const hadController = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (hadController && demo) demo.note("A new version of this site was installed: reload the page to use it.");
  });
  const ready = navigator.serviceWorker.register(new URL("sw.js", SITE), { scope: SITE.href })
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      if (demo) {
        demo.state.offline = true;
        demo.offlineNote.textContent = "Available offline: this site's files are cached.";
      }
    })
    .catch((e) => console.warn(`webflow demo: no offline support (${e.message})`));
  return ready;
}
