// The camera as model input: getUserMedia -> <video> -> each new frame straight into a GPU
// tensor (backend.uploadImage: texImage2D + one preprocessing kernel; no pixel touches the CPU).
//
//   const cam = await webflow.camera({width: 640, height: 480, facingMode: "user", mirror: true});
//   document.body.append(cam.video);                                   // optional preview
//   const loop = cam.frames(model, {size: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]},
//                           (out, frame) => show(out.logits.data));
//   loop.stop(); cam.stats();   // {fps, frames, dropped, capture_ms, preprocess_ms, model_ms, postprocess_ms}
//   for await (const frame of cam.stream({size: 224})) { await model.predict({image: frame}); }
//
// One frame at a time, never a queue: a video-frame callback (requestVideoFrameCallback) keeps
// track of the newest frame on screen; next() takes it if it is newer than the last one taken,
// else waits for the next. Frames presented while the model was busy, other than the newest,
// are dropped (counted in `dropped`), so the model always sees a frame at most one frame old.

import { MediaError, requestStream } from "./devices.js";

export async function openCamera(backend, { width = 640, height = 480, facingMode = "user", deviceId, mirror = false, video } = {}) {
  const stream = await requestStream("camera", {
    audio: false,
    video: { width: { ideal: width }, height: { ideal: height }, ...(deviceId ? { deviceId: { exact: deviceId } } : { facingMode }) },
  });
  const el = video || document.createElement("video");
  el.muted = true;
  el.playsInline = true;
  el.srcObject = stream;
  if (mirror) el.style.transform = "scaleX(-1)"; // the preview matches the mirrored tensors
  try {
    await el.play();
  } catch (e) {
    stream.getTracks().forEach((t) => t.stop());
    throw new MediaError("playback-blocked", `The camera's video could not start playing (${e.name}: ${e.message}).`, e);
  }
  return new Camera(backend, stream, el, { mirror });
}

const WINDOW = 30; // frames the statistics average over

export class Camera {
  constructor(backend, stream, video, { mirror }) {
    this.backend = backend;
    this.mediaStream = stream;
    this.video = video;
    this.mirror = mirror;
    this.size = [video.videoWidth, video.videoHeight];
    this.closed = false;
    this.delivered = 0;
    this.dropped = 0;
    this.latest = null; // {index, mediaTime, at}: the newest frame on screen
    this.taken = null; // index of the last frame taken
    this.waiters = []; // [resolve, reject] of next() calls waiting for a new frame
    this.recent = []; // per-frame records of the last WINDOW frames
    stream.getVideoTracks()[0]?.addEventListener("ended", () => {
      this._wake(new MediaError("device-lost", "The camera stopped (unplugged, or taken by another application)."));
    });
    this._watch();
  }

  // Follow the frames the video presents (rVFC; older browsers: animation frames and currentTime).
  _watch() {
    const v = this.video;
    let count = 0;
    const seen = (index, mediaTime) => {
      this.latest = { index, mediaTime, at: performance.now() };
      this._wake(null);
    };
    if (v.requestVideoFrameCallback) {
      const on = (now, m) => {
        if (this.closed) return;
        seen(m.presentedFrames, m.mediaTime);
        v.requestVideoFrameCallback(on);
      };
      v.requestVideoFrameCallback(on);
    } else {
      let t = -1;
      const poll = () => {
        if (this.closed) return;
        if (v.currentTime !== t) seen(++count, (t = v.currentTime));
        requestAnimationFrame(poll);
      };
      requestAnimationFrame(poll);
    }
  }

  _wake(error) {
    const w = this.waiters;
    this.waiters = [];
    for (const [resolve, reject] of w) (error ? reject(error) : resolve());
  }

  get width() {
    return this.video.videoWidth || this.size[0];
  }

  get height() {
    return this.video.videoHeight || this.size[1];
  }

  // The next new frame, as a tensor on the GPU: a Frame, usable as a model input
  // (model.predict({image: frame})); dispose() it when done (frames() and stream() do).
  async next(params = {}) {
    if (this.closed) throw new MediaError("closed", "The camera was closed.");
    if (!this.backend) throw new MediaError("no-gpu", "Camera frames need WebGL2, which this browser does not provide.");
    const asked = performance.now();
    if (!(this.latest && (this.taken == null || this.latest.index > this.taken))) {
      await new Promise((resolve, reject) => this.waiters.push([resolve, reject]));
    }
    const meta = this.latest;
    const got = performance.now();
    const handle = this.backend.uploadImage(this.video, { mirror: this.mirror, ...params });
    const { shape } = this.backend.info(handle);
    const dropped = this.taken == null ? 0 : Math.max(0, meta.index - this.taken - 1);
    this.taken = meta.index;
    this.dropped += dropped;
    this.delivered++;
    const frame = new Frame(this.backend, handle, shape, {
      index: meta.index, mediaTime: meta.mediaTime, dropped, wait_ms: got - asked, age_ms: got - meta.at, ...this.backend.imageTiming,
    });
    this._record(frame.timing);
    return frame;
  }

  _record(timing) {
    this.recent.push({ t: performance.now(), ...timing });
    if (this.recent.length > WINDOW) this.recent.shift();
  }

  // Run `model` (a webflow Model, or an async function of the frame) on frame after frame;
  // onFrame(output, frame) may be async. Returns {stop(), done: Promise}. With exactTiming, the
  // GPU is waited for after each stage (slower; the per-stage times are then GPU times too).
  frames(model, params = {}, onFrame = null, { input, exactTiming = false } = {}) {
    const name = input || params.input || model?.inputs?.[0]?.name;
    const finish = () => exactTiming && this.backend.gl.finish();
    const loop = { running: true, stop: () => (loop.running = false) };
    loop.done = (async () => {
      while (loop.running && !this.closed) {
        const frame = await this.next(exactTiming ? { ...params, finish: true } : params);
        try {
          const t1 = performance.now();
          const out = !model ? null : typeof model === "function" ? await model(frame) : await model.predict({ [name]: frame });
          finish();
          const t2 = performance.now();
          if (onFrame) await onFrame(out, frame);
          const last = this.recent[this.recent.length - 1];
          Object.assign(frame.timing, { model_ms: t2 - t1, postprocess_ms: performance.now() - t2 });
          Object.assign(last, frame.timing);
        } finally {
          frame.dispose();
        }
      }
    })();
    return loop;
  }

  // for await (const frame of cam.stream(params)) {...}: each frame is disposed when the loop
  // asks for the next one (or leaves).
  async *stream(params = {}) {
    let frame = null;
    try {
      for (;;) {
        frame?.dispose();
        frame = null;
        frame = await this.next(params);
        yield frame;
      }
    } finally {
      frame?.dispose();
    }
  }

  // Averages over the last frames: fps (frames delivered per second), per-stage milliseconds,
  // and totals (frames delivered, frames dropped because the consumer was busy).
  stats() {
    const r = this.recent;
    const mean = (k) => {
      const v = r.filter((x) => x[k] !== undefined).map((x) => x[k]);
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
    };
    const span = r.length > 1 ? (r[r.length - 1].t - r[0].t) / 1000 : 0;
    const stages = ["wait_ms", "age_ms", "capture_ms", "preprocess_ms", "model_ms", "postprocess_ms"];
    return {
      fps: span ? (r.length - 1) / span : 0, frames: this.delivered, dropped: this.dropped, width: this.width, height: this.height,
      ...Object.fromEntries(stages.map((k) => [k, mean(k)])),
    };
  }

  close() {
    this.closed = true;
    this._wake(new MediaError("closed", "The camera was closed."));
    this.mediaStream.getTracks().forEach((t) => t.stop());
    this.video.srcObject = null;
  }
}

// One camera frame on the GPU: {handle, shape, dtype} is what a model input needs.
export class Frame {
  constructor(backend, handle, shape, timing) {
    this.backend = backend;
    this.handle = handle;
    this.shape = shape;
    this.dtype = "float32";
    this.index = timing.index; // the video's presentedFrames count
    this.mediaTime = timing.mediaTime;
    this.dropped = timing.dropped; // frames skipped since the previous frame
    // wait_ms: for a frame newer than the last one taken; age_ms: since it was presented
    this.timing = { wait_ms: timing.wait_ms, age_ms: timing.age_ms, capture_ms: timing.capture_ms, preprocess_ms: timing.preprocess_ms };
  }

  // The tensor's values (a readback: for tests and debugging, not the hot path).
  read() {
    return this.backend.read(this.handle);
  }

  dispose() {
    if (this.handle != null) this.backend.dispose(this.handle);
    this.handle = null;
  }
}
