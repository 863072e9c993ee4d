// The microphone as features: getUserMedia (no echo cancellation, noise suppression or gain
// control) -> AudioWorklet (ring_worklet.js: mono blocks posted through its port) -> 16 kHz
// (Resampler) -> log-mel frames (LogMel); features.js and webflow_py/audio_features.py define
// both, the same way.
//
//   const mic = await webflow.microphone({keep: 2});   // call from a click: audio needs a gesture
//   mic.onFrame((row, index) => ...);                  // each log-mel frame as it completes (100 / s)
//   const x = mic.features(98, {shape: [1, 1, 98, 40]}); // the newest frames as a model input
//   mic.samples(); mic.level();                         // newest 16 kHz samples; loudness in dBFS
//   const rec = await mic.record(2);                    // {raw, samples, features, ...} of the next 2 s

import { requestStream } from "./devices.js";
import { LogMel, Resampler, SPEC } from "./features.js";

export async function openMicrophone({ keep = 2, deviceId, blockSize = 512, spec = SPEC } = {}) {
  const stream = await requestStream("microphone", {
    video: false,
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) },
  });
  const ctx = new AudioContext();
  try {
    await ctx.audioWorklet.addModule(new URL("./ring_worklet.js", import.meta.url));
  } catch (e) {
    stream.getTracks().forEach((t) => t.stop());
    ctx.close();
    throw e;
  }
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, "webflow-ring", { numberOfInputs: 1, numberOfOutputs: 0, processorOptions: { blockSize } });
  source.connect(node);
  if (ctx.state === "suspended") ctx.resume(); // without a user gesture this waits for one: see mic.state
  return new Microphone(stream, ctx, node, { keep, spec });
}

export class Microphone {
  constructor(stream, ctx, node, { keep, spec }) {
    this.stream = stream;
    this.ctx = ctx;
    this.node = node;
    this.spec = spec;
    this.sampleRate = ctx.sampleRate; // the microphone's rate; features are at spec.sample_rate
    this.resampler = new Resampler(ctx.sampleRate, spec);
    this.logmel = new LogMel(spec);
    this.ring = new Float32Array(Math.max(Math.ceil(keep * spec.sample_rate), spec.win_length));
    this.written = 0; // 16 kHz samples so far
    this.rows = Math.max(1, Math.floor(keep * spec.sample_rate / spec.hop_length));
    this.melRing = new Float32Array(this.rows * spec.n_mels);
    this.frames = 0; // log-mel frames so far
    this.listeners = new Set();
    this.recorders = new Set();
    this.blocks = 0;
    this.gaps = 0; // blocks that did not follow the previous one (lost audio)
    this.next = null;
    this.lastLevel = -Infinity;
    this.featureMs = 0;
    node.port.onmessage = (e) => this._block(e.data);
  }

  _block({ samples, frame }) {
    const t0 = performance.now();
    if (this.next != null && frame !== this.next) this.gaps++;
    this.next = frame + samples.length;
    this.blocks++;
    let e = 0;
    for (let i = 0; i < samples.length; i++) e += samples[i] * samples[i];
    this.lastLevel = 10 * Math.log10(e / samples.length + 1e-12);
    const y = this.resampler.push(samples);
    for (const r of this.recorders) r.block(samples, y, this.written);
    for (let i = 0; i < y.length; i++) this.ring[(this.written + i) % this.ring.length] = y[i];
    this.written += y.length;
    for (const row of this.logmel.push(y)) {
      const index = this.frames++;
      this.melRing.set(row, (index % this.rows) * this.spec.n_mels);
      for (const r of this.recorders) r.row(row, index);
      for (const cb of this.listeners) cb(row, index);
    }
    this.featureMs += 0.1 * (performance.now() - t0 - this.featureMs);
  }

  get state() {
    return this.ctx.state; // "running", or "suspended" until the page gets a user gesture
  }

  resume() {
    return this.ctx.resume();
  }

  // The newest n 16 kHz samples (oldest first; zeros before the stream began).
  samples(n = this.ring.length) {
    n = Math.min(n, this.ring.length);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const s = this.written - n + i;
      out[i] = s >= 0 ? this.ring[s % this.ring.length] : 0;
    }
    return out;
  }

  // The newest `frames` log-mel frames as {data, shape} (oldest first; before the stream began,
  // silence: ln(eps)). shape defaults to [frames, n_mels]; give the model's, e.g. [1, 1, 98, 40].
  features(frames = this.rows, { shape } = {}) {
    const m = this.spec.n_mels;
    if (frames > this.rows) throw new Error(`microphone: keeps ${this.rows} frames (keep seconds), asked for ${frames}`);
    const data = new Float32Array(frames * m).fill(Math.log(this.spec.eps));
    for (let k = 0; k < frames; k++) {
      const index = this.frames - frames + k;
      if (index >= 0) data.set(this.melRing.subarray((index % this.rows) * m, (index % this.rows + 1) * m), k * m);
    }
    shape = shape || [frames, m];
    if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new Error(`microphone: shape [${shape}] does not hold ${frames} x ${m} features`);
    return { data, shape }; // a model input as it is (predict({x: mic.features(...)}))
  }

  // Calls cb(row: Float32Array(n_mels), index) for every new frame; returns the unsubscribe.
  onFrame(cb) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  // Loudness of the newest block, dBFS (0 = full scale sine peak ~ -3).
  level() {
    return this.lastLevel;
  }

  // The next `seconds` of audio: {sampleRate, raw (mono, mic rate), samples (16 kHz), features
  // ({data, shape})}. samples start on a frame boundary and are exactly what the features were
  // computed from: log_mel(samples) in numpy gives the same frames.
  record(seconds) {
    const { hop_length: hop, win_length: win, n_mels: m } = this.spec;
    const want = Math.max(1, Math.floor((seconds * this.spec.sample_rate - win) / hop) + 1);
    const first = this.frames; // the first frame recorded; its samples start at first * hop
    const s0 = first * hop;
    const chunks = [this.samplesFrom(s0)];
    const raw = [];
    const rows = [];
    return new Promise((resolve) => {
      const rec = {
        block: (x, y, at) => {
          raw.push(x);
          chunks.push(at >= s0 ? y : y.subarray(s0 - at));
        },
        row: (row, index) => {
          if (index < first) return;
          rows.push(row);
          if (rows.length < want) return;
          this.recorders.delete(rec);
          const samples = concat(chunks).slice(0, (want - 1) * hop + win);
          const data = new Float32Array(want * m);
          rows.forEach((r, k) => data.set(r, k * m));
          resolve({ sampleRate: this.sampleRate, raw: concat(raw), samples, features: { data, shape: [want, m] }, firstFrame: first });
        },
      };
      this.recorders.add(rec);
    });
  }

  // 16 kHz samples from stream index s (still in the ring) up to now.
  samplesFrom(s) {
    const n = this.written - s;
    if (n < 0 || n > this.ring.length) return new Float32Array(0);
    return this.samples(n);
  }

  stats() {
    return {
      sampleRate: this.sampleRate, state: this.state, blocks: this.blocks, gaps: this.gaps, frames: this.frames,
      samples: this.written, level: this.lastLevel, features_ms_per_block: this.featureMs,
    };
  }

  close() {
    this.node.port.postMessage("stop");
    this.node.disconnect();
    this.stream.getTracks().forEach((t) => t.stop());
    this.listeners.clear();
    return this.ctx.close();
  }
}

function concat(parts) {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
