// webflow in the page. Two APIs over one runtime:
//   JavaScript: const m = await webflow.load(url, {onProgress}); const out = await m.predict({x: {data, shape}});
//   Python (Pyodide): m = await webflow.load_async(url); out = await m.predict_async({"x": x})
// Media input (media/): webflow.camera(...) gives frames that are GPU tensors (model inputs with
// no readback), webflow.microphone(...) log-mel features; Python: webflow.camera / webflow.microphone.
// The site layout (scripts/build_web.py): <site>/webflow_js/, <site>/pyodide/, <site>/wheels/,
// <site>/manifest.json. Nothing is fetched from anywhere else.

import { capabilities, WebGLUnavailable } from "./webgl/context.js";
import { WebGLBackend } from "./webgl/backend.js";
import { fetchModel, uploadWeights } from "./fetch.js";
import { openCamera } from "./media/camera.js";
import { openMicrophone } from "./media/audio.js";
import { MediaError } from "./media/devices.js";

export { capabilities, WebGLUnavailable, MediaError };

const SITE = new URL("../", import.meta.url);
let runtime = null;
let gpuState = null;

// The page's one WebGL backend (models and camera frames must share it: handles are per backend).
function gpu(debug = false) {
  if (!gpuState) {
    try {
      gpuState = { backend: new WebGLBackend({ debug }), error: "" };
    } catch (e) {
      if (!(e instanceof WebGLUnavailable)) throw e;
      gpuState = { backend: null, error: e.message };
    }
  }
  if (debug && gpuState.backend) gpuState.backend.debug = true;
  return gpuState;
}

// Boot Pyodide from the site's own files and install webflow's runtime wheel (once per page).
export function boot({ site = SITE, onProgress = () => {}, debug = false } = {}) {
  if (!runtime) runtime = start(new URL(site, location.href), onProgress, debug);
  return runtime;
}

async function start(site, onProgress, debug) {
  const t0 = performance.now();
  onProgress({ stage: "boot", message: "starting Python (Pyodide)" });
  const manifest = await (await fetch(new URL("manifest.json", site))).json();
  const { loadPyodide } = await import(new URL("pyodide/pyodide.mjs", site).href);
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", site).href });
  onProgress({ stage: "boot", message: "installing webflow" });
  await pyodide.loadPackage(new URL(manifest.wheel, site).href, { messageCallback: () => {} });
  const { backend, error: gpuError } = gpu(debug);
  if (!backend) onProgress({ stage: "boot", message: `no GPU backend: ${gpuError}` });
  pyodide.registerJsModule("webflow_js", {
    backend, fetchModel, uploadWeights, gpuError, openCamera: (opts) => openCamera(backend, opts), openMicrophone, outputs,
  });
  const browser = pyodide.pyimport("webflow.browser");
  onProgress({ stage: "boot", message: `ready in ${((performance.now() - t0) / 1000).toFixed(1)} s` });
  return { pyodide, backend, browser };
}

// Model.predict's result, {name: {data, shape, dtype}}, from the outputs' [name, shape, dtype]
// (Python makes them once per input signature) and their data: one call from Python.
function outputs(metas, datas) {
  return Object.fromEntries(metas.map(([name, shape, dtype], i) => [name, { data: datas[i], shape: [...shape], dtype }]));
}

// The camera, frames as GPU tensors (media/camera.js): {width, height, facingMode, deviceId, mirror, video}.
// Fails with a MediaError whose `code` and `message` the page can show.
export function camera(opts = {}) {
  return openCamera(gpu(opts.debug).backend, opts);
}

// The microphone, as 16 kHz samples and log-mel features (media/audio.js): {keep, deviceId}.
export function microphone(opts = {}) {
  return openMicrophone(opts);
}

export class Model {
  constructor(py, rt) {
    this.py = py;
    this.rt = rt;
    this.inputs = py.input_specs().toJs({ dict_converter: Object.fromEntries });
    this.outputs = py.output_specs().toJs({ dict_converter: Object.fromEntries });
    this.backend = py.backend.name;
  }

  // inputs: {name: {data: TypedArray, shape: [...]}} (or an array in input order);
  // returns {name: {data: TypedArray, shape, dtype}}.
  async predict(inputs) {
    try {
      const d = digest(inputs, this.inputs);
      // Python builds the JS object: no proxy to free
      return await (d ? this.py.predict_js(inputs, d.key, d.datas) : this.py.predict_js(inputs));
    } catch (e) {
      throw clean(e);
    }
  }

  // Per-op GPU time of one inference: {source, disjoint, steps: [{name, op, ms}]}.
  async profile(inputs) {
    try {
      const r = await this.py.profile_js(inputs);
      return r.toJs ? r.toJs({ dict_converter: Object.fromEntries }) : r;
    } catch (e) {
      throw clean(e);
    }
  }

  memory() {
    return this.rt.backend ? this.rt.backend.memory() : null;
  }

  // Where the last predict's time went: python_ms, upload_ms, replay_ms, read_ms, total_ms.
  lastTiming() {
    const t = this.py.last_timing();
    const out = t.toJs({ dict_converter: Object.fromEntries });
    t.destroy();
    return out;
  }

  dispose() {
    this.py.dispose();
    this.py.destroy();
  }
}

// The inputs' signature for Python (browser.py predict_js): per input, in the model's order, the
// typed array's kind, shape and length, or a GPU frame's dtype and shape; and their data (or frame
// handles). Reading them here is one call from Python instead of a dozen per input. null for
// anything else: Python then reads the inputs itself and names what is wrong.
function digest(inputs, specs) {
  const byName = !Array.isArray(inputs);
  if ((byName ? Object.keys(inputs).length : inputs.length) !== specs.length) return null;
  const key = [];
  const datas = [];
  for (let i = 0; i < specs.length; i++) {
    const x = byName ? inputs[specs[i].name] : inputs[i];
    if (!x || typeof x !== "object" || !Array.isArray(x.shape) || !x.shape.every(Number.isInteger)) return null;
    if ("handle" in x) {
      if (typeof x.handle !== "number") return null;
      key.push(`frame ${x.dtype} [${x.shape}]`);
      datas.push(x.handle);
    } else {
      if ("dtype" in x || !ArrayBuffer.isView(x.data)) return null;
      key.push(`${x.data.constructor.name} [${x.shape}] ${x.data.length}`);
      datas.push(x.data);
    }
  }
  return { key: key.join("; "), datas };
}

export async function load(url, { onProgress = () => {}, site, debug = false } = {}) {
  const rt = await boot({ site, onProgress, debug });
  try {
    const py = await rt.browser.load_async(new URL(url, location.href).href, onProgress);
    return new Model(py, rt);
  } catch (e) {
    throw clean(e);
  }
}

// A Python exception reaches JS with its traceback; the page shows its last line, e.g.
// "InputError: input 'image': expected shape [batch, 3, 224, 224], got [1, 3, 100, 100]".
function clean(e) {
  if (!e || e.constructor?.name !== "PythonError") return e;
  const last = e.message.trim().split("\n").pop();
  const err = new Error(last.replace(/^[\w.]*\.(\w+Error): /, "$1: "));
  err.pythonTraceback = e.message;
  return err;
}
