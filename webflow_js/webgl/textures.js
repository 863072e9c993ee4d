// GPU tensors: every tensor is an RGBA32F texture holding its row-major elements four per
// texel (element i in texel i >> 2, channel i & 3), texels filling rows of `width`. A banded
// tensor (written by a register-blocked kernel through 4 or 8 render targets) is a texture array
// whose layers hold consecutive bands of `band` rows each: the same texel order, in parts.
// Integers and booleans are stored as floats (exact up to 2^24), so one texture format serves
// every op. Textures are pooled by size so steady-state inference allocates nothing.

export const MAX_WIDTH = 4096;
const MIN_ROWS = 16;

// The width is a power of two (so texel t sits at (t & (width-1), t >> log2 width)) chosen to
// give at least MIN_ROWS rows: SwiftShader renders rows in parallel, and a one-row texture
// would keep a whole op on one core (7x7 layers ran 3.5x slower that way).
export function texelLayout(size) {
  const texels = Math.max(1, Math.ceil(size / 4));
  const width = Math.min(MAX_WIDTH, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(texels / MIN_ROWS)))));
  const height = Math.ceil(texels / width);
  return { width, height, shift: Math.log2(width), layers: 1, band: height };
}

// The banded layout for a kernel whose fragment writes texels t, t + B, t + 2B, ... (B = band *
// width texels, one per layer), where B must be a multiple of `period` texels (a matrix row: then
// they share their columns). Each band keeps MIN_ROWS rows for SwiftShader's row parallelism.
export function bandedLayout(size, period, layers) {
  const texels = Math.max(1, Math.ceil(size / 4));
  const width = Math.min(MAX_WIDTH, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(texels / (layers * MIN_ROWS))))));
  const step = period / gcd(period, width); // band rows must be a multiple of this
  const band = Math.ceil(Math.ceil(texels / width / layers) / step) * step;
  return { width, height: band, shift: Math.log2(width), layers, band };
}

const gcd = (a, b) => (b ? gcd(b, a % b) : a);

export class TexturePool {
  constructor(gl, state) {
    this.gl = gl;
    this.state = state; // state.js: every bind goes through it
    this.free = new Map(); // "w x h" -> [texture]
    this.framebuffers = new Map(); // texture -> a framebuffer rendering into it (all its layers)
    this.layers = new Map(); // texture -> its layer count
    this.live = 0;
    this.liveBytes = 0;
    this.pooled = 0;
    this.pooledBytes = 0;
  }

  acquire({ width, height, layers }) {
    const gl = this.gl;
    const key = `${width}x${height}x${layers}`;
    const bytes = width * height * layers * 16;
    const list = this.free.get(key);
    let tex = list && list.pop();
    if (tex) {
      this.pooled--;
      this.pooledBytes -= bytes;
    } else {
      tex = gl.createTexture();
      const target = layers > 1 ? gl.TEXTURE_2D_ARRAY : gl.TEXTURE_2D;
      this.state.edit(tex, target);
      if (layers > 1) gl.texStorage3D(target, 1, gl.RGBA32F, width, height, layers);
      else gl.texStorage2D(target, 1, gl.RGBA32F, width, height);
      for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(target, p, gl.NEAREST);
      for (const p of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(target, p, gl.CLAMP_TO_EDGE);
      this.layers.set(tex, layers);
    }
    this.live++;
    this.liveBytes += bytes;
    return tex;
  }

  release(tex, { width, height, layers }) {
    const key = `${width}x${height}x${layers}`;
    const bytes = width * height * layers * 16;
    if (!this.free.has(key)) this.free.set(key, []);
    this.free.get(key).push(tex);
    this.live--;
    this.liveBytes -= bytes;
    this.pooled++;
    this.pooledBytes += bytes;
  }

  // A framebuffer per texture, made once: re-attaching one framebuffer's texture at every draw
  // makes the driver check the framebuffer again each time.
  framebuffer(tex) {
    let fb = this.framebuffers.get(tex);
    if (!fb) {
      const gl = this.gl;
      fb = gl.createFramebuffer();
      this.state.bindFramebuffer(fb);
      const layers = this.layers.get(tex);
      if (layers > 1) {
        const targets = Array.from({ length: layers }, (_, j) => gl.COLOR_ATTACHMENT0 + j);
        targets.forEach((a, j) => gl.framebufferTextureLayer(gl.FRAMEBUFFER, a, tex, 0, j));
        gl.drawBuffers(targets);
      } else {
        gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
      }
      this.framebuffers.set(tex, fb);
    }
    return fb;
  }

  // Give pooled textures back to the driver (e.g. after a model is disposed).
  drain() {
    for (const list of this.free.values()) {
      for (const tex of list) {
        const fb = this.framebuffers.get(tex);
        if (fb) this.gl.deleteFramebuffer(fb);
        this.framebuffers.delete(tex);
        this.layers.delete(tex);
        this.state.release(tex);
        this.gl.deleteTexture(tex);
      }
    }
    this.free.clear();
    this.pooled = 0;
    this.pooledBytes = 0;
  }
}

const TYPED = {
  float32: Float32Array, float64: Float64Array, float16: Float32Array, int8: Int8Array, uint8: Uint8Array,
  int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
  int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array,
};

export function typedArrayFor(dtype) {
  const T = TYPED[dtype];
  if (!T) throw new Error(`dtype ${dtype} has no typed array`);
  return T;
}

// IEEE half bits -> float32 (weights stored as float16, float16 inputs).
export function float16ToFloat32(bits) {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

// Host values -> the float32 texel buffer of a tensor.
export function toTexels(data, size, width, height) {
  const out = new Float32Array(width * height * 4);
  if (data instanceof Float32Array) {
    out.set(data.subarray(0, size));
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < size; i++) out[i] = Number(data[i]);
  } else {
    for (let i = 0; i < size; i++) out[i] = Number(data[i]);
  }
  return out;
}

// Integers beyond their dtype's range saturate rather than wrap: float32 holds INT32_MAX (the
// empty ReduceMin of int32) only as 2^31, which a plain Int32Array store would make INT32_MIN.
const INT_RANGE = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
  int64: [-(2n ** 63n), 2n ** 63n - 1n], uint64: [0n, 2n ** 64n - 1n],
};

// The float32 texel buffer -> a typed array of the tensor's dtype.
export function fromTexels(texels, size, dtype) {
  if (dtype === "float32" || dtype === "float16") return texels.slice(0, size);
  const T = typedArrayFor(dtype);
  const out = new T(size);
  const [lo, hi] = INT_RANGE[dtype] || [];
  if (T === BigInt64Array || T === BigUint64Array) {
    for (let i = 0; i < size; i++) {
      const v = BigInt(Math.round(texels[i]));
      out[i] = v < lo ? lo : v > hi ? hi : v;
    }
  } else if (dtype === "bool") {
    for (let i = 0; i < size; i++) out[i] = texels[i] !== 0 ? 1 : 0;
  } else if (dtype === "float64") {
    out.set(texels.subarray(0, size));
  } else {
    for (let i = 0; i < size; i++) out[i] = Math.min(Math.max(Math.round(texels[i]), lo), hi);
  }
  return out;
}
