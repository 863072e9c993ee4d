// The WebGL2 backend behind the Python <-> JS contract (docs/CONTRACT.md).
//
// Python owns the plan (order, shapes, lifetimes); this side only uploads, runs kernels and
// reads back. A plan is handed over once (`plan`), its programs are prepared then, and every
// inference is one `replay` call: per-inference crossings are O(1), not O(ops).

import { createContext } from "./context.js";
import { ProgramCache, drawUniforms } from "./programs.js";
import { fragmentSource } from "./shader.js";
import { GLState } from "./state.js";
import { TexturePool, bandedLayout, fromTexels, texelLayout, toTexels } from "./textures.js";
import { KERNELS } from "./kernels/index.js";
import { imageKernel, imageParams } from "../media/preprocess.js";

export const CONTRACT_VERSION = 2;

export class WebGLBackend {
  constructor({ debug = false } = {}) {
    const { gl, timer, software } = createContext();
    this.gl = gl;
    this.timer = timer;
    this.debug = debug; // check gl.getError() after every draw (tests turn this on)
    this.state = new GLState(gl);
    this.pool = new TexturePool(gl, this.state);
    this.programs = new ProgramCache(gl);
    this.tensors = new Map(); // handle -> tensor
    this.nextHandle = 1;
    this.plans = new Map();
    this.nextPlan = 1;
    gl.bindVertexArray(gl.createVertexArray()); // the one VAO: the vertex shader needs no attributes
    // render targets a block kernel may write (WebGL2 guarantees 4)
    this.bands = Math.min(8, gl.getParameter(gl.MAX_DRAW_BUFFERS), gl.getParameter(gl.MAX_COLOR_ATTACHMENTS));
    this.waiter = new FenceWaiter(gl, !software);
  }

  get contractVersion() {
    return CONTRACT_VERSION;
  }

  kernelNames() {
    return [...KERNELS.keys()];
  }

  // --- tensors ---------------------------------------------------------------------------

  // `like`: a described tensor whose layout (banded or not) the new one takes
  _alloc(shape, dtype, like = null) {
    const t = describe([...shape], dtype, like);
    t.tex = this.pool.acquire(t);
    return t;
  }

  _free(t) {
    if (t.tex) this.pool.release(t.tex, t);
    t.tex = null;
  }

  _write(t, data) {
    const gl = this.gl;
    this.state.edit(t.tex);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, t.width, t.height, gl.RGBA, gl.FLOAT, toTexels(data, t.size, t.width, t.height));
  }

  upload(dtype, shape, data) {
    const t = this._alloc(shape, dtype);
    this._write(t, data);
    const h = this.nextHandle++;
    this.tensors.set(h, t);
    return h;
  }

  // An image (video element, canvas, ImageBitmap, <img>, VideoFrame) as a model input, with no
  // CPU copy: texImage2D into an RGBA8 texture (kept for the next frame of that size), then one
  // kernel crops, resizes, mirrors, normalizes and lays it out (../media/preprocess.js says how).
  // imageTiming: milliseconds spent issuing the upload (capture_ms) and the kernel (preprocess_ms);
  // with params.finish the GPU is waited for after each, so they are GPU times too (profiling).
  uploadImage(source, params = {}) {
    const gl = this.gl;
    const w = source.videoWidth || source.naturalWidth || source.displayWidth || source.width;
    const h = source.videoHeight || source.naturalHeight || source.displayHeight || source.height;
    if (!w || !h) throw new Error("uploadImage: the source has no pixels yet (a video that is not playing?)");
    const t0 = performance.now();
    if (!this.frame || this.frame.width !== w || this.frame.height !== h) {
      if (this.frame) {
        this.state.release(this.frame.tex);
        gl.deleteTexture(this.frame.tex);
      }
      const tex = gl.createTexture();
      this.state.edit(tex);
      gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, w, h);
      for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, p, gl.NEAREST);
      this.frame = { tex, width: w, height: h };
    }
    this.state.edit(this.frame.tex);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false); // top row in texture row 0
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, source);
    if (params.finish) gl.finish();
    const t1 = performance.now();
    const spec = imageKernel(imageParams(params, w, h));
    const d = this._compile({ op: "Image" }, [null], ["frame"], [], spec, describe(spec.shape, "float32"));
    const t = this._alloc(spec.shape, "float32");
    this._draw(d, [this.frame], t);
    if (params.finish) gl.finish();
    const handle = this.nextHandle++;
    this.tensors.set(handle, t);
    this.imageTiming = { capture_ms: t1 - t0, preprocess_ms: performance.now() - t1 };
    return handle;
  }

  dispose(handle) {
    const t = this.tensors.get(handle);
    if (!t) return;
    this.tensors.delete(handle);
    if (!t.borrowed) this._free(t);
  }

  info(handle) {
    const t = this._tensor(handle);
    return { shape: t.shape, dtype: t.dtype };
  }

  _tensor(handle) {
    const t = this.tensors.get(handle);
    if (!t) throw new Error(`webgl backend: no tensor with handle ${handle} (disposed?)`);
    return t;
  }

  // Asynchronous readback: readPixels into a pixel-pack buffer, then wait on a fence, so the
  // page keeps running while the GPU finishes.
  async read(handle) {
    return (await this.readMany([handle]))[0];
  }

  // Several tensors behind ONE fence: a model's outputs cost one wait, not one per output
  // (four outputs waited for one by one cost a real GPU 4x the wait).
  async readMany(handles) {
    const gl = this.gl;
    if (!this.readFramebuffer) this.readFramebuffer = gl.createFramebuffer();
    this.state.bindFramebuffer(this.readFramebuffer);
    const reads = handles.map((h) => {
      const t = this._tensor(h);
      const layer = t.width * t.height * 16;
      const buf = gl.createBuffer();
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, buf);
      gl.bufferData(gl.PIXEL_PACK_BUFFER, layer * t.layers, gl.STREAM_READ);
      for (let j = 0; j < t.layers; j++) { // a banded tensor's layers hold its texels in order
        if (t.layers > 1) gl.framebufferTextureLayer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, t.tex, 0, j);
        else gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.tex, 0);
        gl.readPixels(0, 0, t.width, t.height, gl.RGBA, gl.FLOAT, j * layer);
      }
      return { t, buf };
    });
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, null, 0);
    gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
    const sync = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl.flush();
    await this.waiter.wait(sync);
    return reads.map(({ t, buf }) => {
      const texels = new Float32Array(t.width * t.height * t.layers * 4);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, buf);
      gl.getBufferSubData(gl.PIXEL_PACK_BUFFER, 0, texels);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
      gl.deleteBuffer(buf);
      return fromTexels(texels, t.size, t.dtype);
    });
  }

  memory() {
    return {
      tensors: this.tensors.size,
      liveTextures: this.pool.live,
      liveBytes: this.pool.liveBytes,
      pooledTextures: this.pool.pooled,
      pooledBytes: this.pool.pooledBytes,
      programs: this.programs.compiled,
    };
  }

  // --- kernels -----------------------------------------------------------------------------

  // A step as Python sends it (step_json): {name, op, attrs, inputs: [name | null],
  // outputs: [[name, shape, dtype]]}, with the input metas ([shape, dtype, banded layout |
  // undefined] | null) beside it. `banded`: how many render targets a kernel may write a banded
  // output through (0 for a plan's outputs: whoever takes them expects plain textures).
  // Returns one prepared draw per output.
  _prepare(step, inputMetas, banded) {
    const kernel = KERNELS.get(step.op);
    if (!kernel) throw new Error(`webgl backend has no kernel for op ${step.op}`);
    const inputs = inputMetas.map((m) => (m ? describe(m[0], m[1], m[2]) : null));
    return step.outputs.map(([, shape, dtype], index) => {
      let out = describe(shape, dtype);
      const spec = kernel.prepare({ inputs, output: out, outputIndex: index, attrs: step.attrs || {}, banded });
      if (spec.period) out = describe(shape, dtype, bandedLayout(out.size, spec.period, spec.block));
      const names = spec.inputNames || kernel.inputNames || inputs.map((_, k) => `X${k}`);
      // stages: draws before the output's own, each into a float32 temporary (row statistics,
      // say) that the later draws read as one more input, named by the stage
      const stages = [];
      for (const s of spec.stages || []) stages.push(this._compile(step, inputs, names, stages, s, describe(s.shape, "float32")));
      return { ...this._compile(step, inputs, names, stages, spec, out), stages };
    });
  }

  _compile(step, inputs, inputNames, stages, spec, out) {
    const all = [...inputs, ...stages.map((s) => s.out)];
    const names = [...inputs.map((_, k) => inputNames[k]), ...stages.map((s) => s.name)];
    const source = fragmentSource({
      inputs: all.map((t, k) => (t ? [names[k], t.shape.length, t.layers > 1] : null)),
      outRank: out.shape.length,
      uniforms: spec.uniforms,
      helpers: spec.helpers,
      body: spec.body,
      texel: spec.texel,
      block: spec.block,
    });
    const p = this.programs.get(source, `${step.op}`);
    return { p, names, out, inputs: all, extra: spec.uniforms, uniforms: null, label: step.name || step.op, name: spec.name };
  }

  // One output: its stages' draws, then its own; the temporaries go back to the pool at once.
  _run(d, ins) {
    const temps = [];
    for (const s of d.stages) {
      temps.push(this._alloc(s.out.shape, s.out.dtype));
      this._draw(s, [...ins, ...temps.slice(0, -1)], temps[temps.length - 1]);
    }
    const t = this._alloc(d.out.shape, d.out.dtype, d.out);
    this._draw(d, [...ins, ...temps], t);
    temps.forEach((x) => this._free(x));
    return t;
  }

  // One draw, issuing only the GL calls that change state (state.js): on a real GPU the calls,
  // not the arithmetic, are what a small model's inference costs.
  _draw(d, inputTensors, outTensor) {
    const gl = this.gl, st = this.state;
    if (!d.uniforms) {
      this.programs.check(d.p);
      d.uniforms = drawUniforms(this.programs, d.p, d.inputs, d.names, d.out, d.extra);
    }
    st.useProgram(d.p);
    st.release(outTensor.tex);
    st.bindFramebuffer(this.pool.framebuffer(outTensor.tex));
    st.viewport(outTensor.width, outTensor.height);
    let unit = 0;
    for (const t of inputTensors) {
      if (!t) continue;
      if (t.tex === outTensor.tex) throw new Error(`${d.label}: input and output share a texture`);
      st.bindTexture(unit++, t.tex, t.layers > 1 ? gl.TEXTURE_2D_ARRAY : gl.TEXTURE_2D);
    }
    for (const [fn, loc, value, key] of d.uniforms) st.uniform(d.p, fn, loc, value, key);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    if (this.debug) {
      const err = gl.getError();
      if (err !== gl.NO_ERROR) throw new Error(`${d.label}: WebGL error 0x${err.toString(16)}`);
    }
  }

  // Eager mode: run one step on tensor handles, return the output handles.
  runStep(step, inputHandles) {
    const ins = inputHandles.map((h) => (h == null ? null : this._tensor(h)));
    const draws = this._prepare(step, ins.map((t) => (t ? [t.shape, t.dtype, t] : null)), this.bands);
    return draws.map((d) => {
      const t = this._run(d, ins);
      const h = this.nextHandle++;
      this.tensors.set(h, t);
      return h;
    });
  }

  // --- plans ------------------------------------------------------------------------------

  // plan: {inputs: [name], outputs: [name], constants: {name: handle}, steps: [{name, op, attrs,
  // inputs: [name|null], outputs: [[name, shape, dtype]], free: [name]}]}
  // Every program is prepared (and compiled) now; replay only draws.
  plan(plan) {
    const banded = new Map(); // tensor -> its draw's output, when that is banded
    const steps = plan.steps.map((s) => {
      const metas = s.inputs.map((n) => (n == null ? null : [...plan.metas[n], banded.get(n)]));
      const draws = this._prepare(s, metas, s.outputs.some(([n]) => plan.outputs.includes(n)) ? 0 : this.bands);
      draws.forEach((d, k) => d.out.layers > 1 && banded.set(s.outputs[k][0], d.out));
      return { name: s.name, op: s.op, inputs: s.inputs, outputs: s.outputs.map(([n]) => n), free: s.free, draws };
    });
    const id = this.nextPlan++;
    this.plans.set(id, { steps, inputs: plan.inputs, outputs: plan.outputs, constants: plan.constants });
    return id;
  }

  // One replay with each step timed: {source, disjoint, steps: [{name, op, ms}]}.
  async profile(id, inputHandles) {
    const timer = new StepTimer(this.gl, this.timer);
    const outs = this.replay(id, inputHandles, timer);
    const result = await timer.results();
    outs.forEach((h) => this.dispose(h));
    return result;
  }

  releasePlan(id) {
    this.plans.delete(id);
  }

  // One inference: input handles in, output handles out (the caller reads and disposes them).
  replay(id, inputHandles, timer = null) {
    const plan = this.plans.get(id);
    const env = new Map();
    plan.inputs.forEach((n, k) => {
      const t = this._tensor(inputHandles[k]);
      if (t.layers > 1) throw new Error(`webgl backend: plan input ${n} is a banded tensor (an eager runStep output); only plan outputs can feed a plan`);
      env.set(n, t);
    });
    for (const [n, h] of Object.entries(plan.constants)) env.set(n, this._tensor(h));
    const owned = new Set();
    for (const s of plan.steps) {
      const ins = s.inputs.map((n) => (n == null ? null : env.get(n)));
      timer?.begin(s);
      s.draws.forEach((d, k) => {
        const t = this._run(d, ins);
        env.set(s.outputs[k], t);
        owned.add(t);
      });
      timer?.end(s);
      for (const n of s.free) {
        const t = env.get(n);
        if (owned.has(t)) {
          this._free(t);
          owned.delete(t);
        }
        env.delete(n);
      }
    }
    return plan.outputs.map((n) => {
      const t = env.get(n);
      const h = this.nextHandle++;
      // an output that is a graph input or constant is borrowed: disposing it frees nothing
      this.tensors.set(h, owned.has(t) ? t : { ...t, borrowed: true });
      owned.delete(t);
      return h;
    });
  }
}

// Per-step GPU time of one replay: timer queries where the driver has them (exact GPU time),
// else a finish() after each step (wall time; close to GPU time on SwiftShader, which
// renders on the CPU). Only `profile` uses it, never a normal inference.
class StepTimer {
  constructor(gl, ext) {
    this.gl = gl;
    this.ext = ext;
    this.rows = [];
  }

  begin(step) {
    if (this.ext) {
      const q = this.gl.createQuery();
      this.gl.beginQuery(this.ext.TIME_ELAPSED_EXT, q);
      this.rows.push({ name: step.name, op: step.op, query: q });
    } else {
      this.gl.finish();
      this.rows.push({ name: step.name, op: step.op, t0: performance.now() });
    }
  }

  end() {
    const row = this.rows[this.rows.length - 1];
    if (this.ext) {
      this.gl.endQuery(this.ext.TIME_ELAPSED_EXT);
    } else {
      this.gl.finish();
      row.ms = performance.now() - row.t0;
    }
  }

  async results() {
    const gl = this.gl;
    for (const row of this.rows) {
      if (!row.query) continue;
      while (!gl.getQueryParameter(row.query, gl.QUERY_RESULT_AVAILABLE)) await new Promise((r) => setTimeout(r, 1));
      row.ms = gl.getQueryParameter(row.query, gl.QUERY_RESULT) / 1e6;
      gl.deleteQuery(row.query);
      delete row.query;
    }
    const disjoint = this.ext && gl.getParameter(this.ext.GPU_DISJOINT_EXT);
    return { source: this.ext ? "timer-query" : "finish", disjoint: !!disjoint, steps: this.rows.map(({ name, op, ms }) => ({ name, op, ms })) };
  }
}

// A tensor's shape, dtype, size and texture layout (what kernels and uniforms need); the
// layout of `like` (a banded one) or the plain one.
function describe(shape, dtype, like = null) {
  const size = shape.reduce((a, b) => a * b, 1);
  const { width, height, shift, layers, band } = like || texelLayout(size);
  return { shape, dtype, size, width, height, shift, layers, band };
}

// Waits for fences. setTimeout polls are clamped to ~4 ms in Chromium, which on a real GPU is
// a third of an inference (H100: 4.6 ms to read one small tensor, 0.2 ms with finish), so on a
// hardware GPU, while inferences stay short, the wait polls through a MessageChannel (a task
// with no clamp): H100, MobileNetV2 warm 16.4 -> 10.8 ms. A software renderer (SwiftShader)
// runs the "GPU" on the CPU cores this thread shares, where spinning would slow it down (a short
// chain of draws took 28 ms instead of 5): there the polls stay on setTimeout.
const FAST_MS = 40;

class FenceWaiter {
  constructor(gl, spin) {
    this.gl = gl;
    this.spin = spin;
    this.lastMs = 0;
    this.channel = new MessageChannel();
    this.woken = []; // one resolver per message posted: several waits may be in flight
    this.channel.port1.onmessage = () => this.woken.shift()();
  }

  _tick(spin) {
    return new Promise((resolve) => {
      if (!spin) return void setTimeout(resolve, 0);
      this.woken.push(resolve);
      this.channel.port2.postMessage(0);
    });
  }

  async wait(sync) {
    const gl = this.gl, t0 = performance.now();
    try {
      for (;;) {
        const status = gl.clientWaitSync(sync, 0, 0);
        if (status === gl.WAIT_FAILED) throw new Error("webgl backend: waiting for the GPU failed");
        if (status !== gl.TIMEOUT_EXPIRED) break;
        const waited = performance.now() - t0;
        await this._tick(this.spin && this.lastMs < FAST_MS && waited < FAST_MS);
      }
    } finally {
      gl.deleteSync(sync);
    }
    this.lastMs = performance.now() - t0;
  }
}
