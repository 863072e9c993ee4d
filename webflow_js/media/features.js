// The audio front end in the browser: microphone samples -> 16 kHz (Resampler) -> log-mel
// frames (LogMel). The method is written down once, in webflow_py/audio_features.py (the numpy
// reference); SPEC below is a copy of its numbers (`python -m webflow.audio_features --js`
// prints this line; tests/test_audio_features.py fails when the two differ), and a browser
// test compares this code with numpy on the same samples. Arithmetic is float64 (JS numbers);
// the samples and features handed out are float32.

export const SPEC = /*SPEC*/ {"eps": 1e-06, "fmax": 7600.0, "fmin": 20.0, "hop_length": 160, "log": "ln", "mel_scale": "htk", "n_fft": 512, "n_mels": 40, "power": 2.0, "resample": {"cutoff": 7600.0, "method": "windowed_sinc", "normalize": "sum", "window": "hann", "zero_crossings": 16}, "sample_rate": 16000, "win_length": 400, "window": "hann_periodic"} /*END SPEC*/;

// The methods this file implements; a SPEC naming another one is refused, never half-applied.
function check(spec) {
  const r = spec.resample;
  const ok = spec.window === "hann_periodic" && spec.mel_scale === "htk" && spec.log === "ln" && (spec.n_fft & (spec.n_fft - 1)) === 0 &&
    spec.win_length <= spec.n_fft && r.method === "windowed_sinc" && r.window === "hann" && r.normalize === "sum";
  if (!ok) throw new Error(`webflow audio features: this SPEC asks for a method features.js does not implement: ${JSON.stringify(spec)}`);
  return spec;
}

const hzToMel = (hz) => 2595 * Math.log10(1 + hz / 700);
const melToHz = (mel) => 700 * (10 ** (mel / 2595) - 1);
const sinc = (x) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

// Triangular HTK filters, sparse: [{start: first bin, w: Float64Array}] per mel band.
export function melFilterbank(spec = SPEC) {
  const n = spec.n_mels, lo = hzToMel(spec.fmin), hi = hzToMel(spec.fmax);
  const f = Array.from({ length: n + 2 }, (_, i) => melToHz(lo + (i * (hi - lo)) / (n + 1)));
  const bins = spec.n_fft / 2 + 1;
  return Array.from({ length: n }, (_, j) => {
    const w = [];
    let start = -1;
    for (let k = 0; k < bins; k++) {
      const hz = (k * spec.sample_rate) / spec.n_fft;
      const v = Math.max(0, Math.min((hz - f[j]) / (f[j + 1] - f[j]), (f[j + 2] - hz) / (f[j + 2] - f[j + 1])));
      if (v > 0 && start < 0) start = k;
      if (start >= 0) w.push(v);
    }
    while (w.length && w[w.length - 1] === 0) w.pop();
    return { start: Math.max(start, 0), w: Float64Array.from(w) };
  });
}

// In-place radix-2 FFT of (re, im), length a power of two; tables made once per size.
function fftTables(n) {
  const rev = new Uint32Array(n);
  const bits = Math.log2(n);
  for (let i = 0; i < n; i++) rev[i] = parseInt(i.toString(2).padStart(bits, "0").split("").reverse().join(""), 2);
  const cos = new Float64Array(n / 2), sin = new Float64Array(n / 2);
  for (let i = 0; i < n / 2; i++) [cos[i], sin[i]] = [Math.cos((2 * Math.PI * i) / n), -Math.sin((2 * Math.PI * i) / n)];
  return { rev, cos, sin };
}

function fft(re, im, { rev, cos, sin }) {
  const n = re.length;
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) [re[i], re[j], im[i], im[j]] = [re[j], re[i], im[j], im[i]];
  }
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2, step = n / size;
    for (let s = 0; s < n; s += size) {
      for (let k = 0; k < half; k++) {
        const a = s + k, b = a + half, c = cos[k * step], d = sin[k * step];
        const tr = re[b] * c - im[b] * d, ti = re[b] * d + im[b] * c;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

// Streaming log-mel: push 16 kHz samples, get every frame they complete (Float32Array(n_mels)
// each). Frame t covers samples [t * hop, t * hop + win) of the stream.
export class LogMel {
  constructor(spec = SPEC) {
    this.spec = check(spec);
    this.bank = melFilterbank(spec);
    this.tables = fftTables(spec.n_fft);
    this.window = Float64Array.from({ length: spec.win_length }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / spec.win_length));
    this.re = new Float64Array(spec.n_fft);
    this.im = new Float64Array(spec.n_fft);
    this.power = new Float64Array(spec.n_fft / 2 + 1);
    this.buf = new Float32Array(4 * spec.win_length);
    this.len = 0; // samples held in buf; buf[0] is stream sample this.start
    this.start = 0;
    this.frames = 0; // frames emitted so far
  }

  push(samples) {
    const { win_length: win, hop_length: hop } = this.spec;
    this.buf = append(this.buf, this.len, samples);
    this.len += samples.length;
    const out = [];
    while (this.frames * hop + win <= this.start + this.len) {
      out.push(this.frame(this.buf, this.frames * hop - this.start));
      this.frames++;
    }
    const drop = Math.min(this.frames * hop - this.start, this.len); // samples no later frame reads
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.start += drop;
    }
    return out;
  }

  // The log-mel of the frame starting at x[offset].
  frame(x, offset) {
    const { spec, re, im, power } = this;
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < spec.win_length; i++) re[i] = x[offset + i] * this.window[i];
    fft(re, im, this.tables);
    for (let k = 0; k < power.length; k++) power[k] = (re[k] * re[k] + im[k] * im[k]) ** (spec.power / 2);
    const out = new Float32Array(spec.n_mels);
    this.bank.forEach(({ start, w }, j) => {
      let e = 0;
      for (let k = 0; k < w.length; k++) e += w[k] * power[start + k];
      out[j] = Math.log(e + spec.eps);
    });
    return out;
  }
}

// Streaming resampler (windowed sinc, webflow_py/audio_features.py says exactly how): push
// mono samples at rateIn, get every 16 kHz sample they complete (Float32Array).
export class Resampler {
  constructor(rateIn, spec = SPEC) {
    check(spec);
    this.rateIn = Math.round(rateIn);
    this.rateOut = spec.sample_rate;
    const r = spec.resample;
    this.fc = r.cutoff / this.rateIn;
    this.half = r.zero_crossings / (2 * this.fc);
    this.phases = new Map(); // rem -> {k0, w}
    this.base = 0; // output n sits at input base + rem / rateOut
    this.rem = 0;
    const pad = Math.ceil(this.half) + 1; // zeros before the first sample
    this.buf = new Float32Array(pad + 4096);
    this.len = pad;
    this.start = -pad; // stream index of buf[0]
  }

  taps(rem) {
    let t = this.phases.get(rem);
    if (t) return t;
    const frac = rem / this.rateOut, half = this.half;
    const k0 = Math.ceil(frac - half), k1 = Math.floor(frac + half);
    const w = new Float64Array(k1 - k0 + 1);
    let sum = 0;
    for (let k = k0; k <= k1; k++) {
      const d = k - frac;
      sum += w[k - k0] = sinc(2 * this.fc * d) * (0.5 + 0.5 * Math.cos((Math.PI * d) / half));
    }
    for (let i = 0; i < w.length; i++) w[i] /= sum;
    t = { k0, w };
    if (this.phases.size < 4096) this.phases.set(rem, t);
    return t;
  }

  push(samples) {
    if (this.rateIn === this.rateOut) return Float32Array.from(samples);
    this.buf = append(this.buf, this.len, samples);
    this.len += samples.length;
    const end = this.start + this.len; // first stream index not yet here
    const out = [];
    for (;;) {
      const { k0, w } = this.taps(this.rem);
      if (this.base + k0 + w.length - 1 >= end) break;
      let acc = 0;
      const o = this.base + k0 - this.start;
      for (let k = 0; k < w.length; k++) acc += this.buf[o + k] * w[k];
      out.push(acc);
      this.rem += this.rateIn;
      this.base += Math.floor(this.rem / this.rateOut);
      this.rem %= this.rateOut;
    }
    const keep = this.base - Math.ceil(this.half) - 1 - this.start; // what the next outputs may read
    if (keep > 0) {
      this.buf.copyWithin(0, keep, this.len);
      this.len -= keep;
      this.start += keep;
    }
    return Float32Array.from(out);
  }
}

// Whole signals at once (the same code as the streams): samples at rateIn -> 16 kHz, and
// 16 kHz samples -> {data: Float32Array, shape: [frames, n_mels]}.
export function resample(samples, rateIn, spec = SPEC) {
  return new Resampler(rateIn, spec).push(samples);
}

export function logMel(samples, spec = SPEC) {
  const frames = new LogMel(spec).push(samples);
  const data = new Float32Array(frames.length * spec.n_mels);
  frames.forEach((f, t) => data.set(f, t * spec.n_mels));
  return { data, shape: [frames.length, spec.n_mels] };
}

// buf[0..len) followed by samples, in buf when they fit, else in a buffer twice as large.
function append(buf, len, samples) {
  if (len + samples.length > buf.length) {
    const bigger = new Float32Array(Math.max(2 * buf.length, len + samples.length));
    bigger.set(buf.subarray(0, len));
    buf = bigger;
  }
  buf.set(samples, len);
  return buf;
}
