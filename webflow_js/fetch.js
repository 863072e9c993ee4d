// Loading a converted model over HTTP (docs/FORMAT.md): model.json, then every shard at once,
// streamed (progress as bytes arrive), checked (length, sha256) and decoded exactly as
// webflow_py/weights.py decode_weight does. The twin of webflow_py/format.py + weights.py.
//
// Shards are immutable (model.json carries their sha256), so they come from the Cache API
// first and a second visit works offline; model.json is network-first, so an updated model is
// picked up whenever the network is there.

export const CACHE_NAME = "webflow-models-v1";
export const FORMAT_NAME = "webflow-model";
export const FORMAT_VERSION = 1;
const SHARD_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/; // = webflow_py/format.py _SHARD_NAME

// dtype -> [typed array of the stored elements, kind, bits if fewer than the array's]; must list webflow_py/dtypes.py DTYPES
// (a test checks). Low-precision floats stay codes, as numpy/ml_dtypes hold them.
export const DTYPES = {
  float32: [Float32Array, "float"], float64: [Float64Array, "float"], float16: [Uint16Array, "float"],
  int8: [Int8Array, "int"], uint8: [Uint8Array, "uint"], int16: [Int16Array, "int"], uint16: [Uint16Array, "uint"],
  int32: [Int32Array, "int"], uint32: [Uint32Array, "uint"], int64: [BigInt64Array, "int"],
  uint64: [BigUint64Array, "uint"], bool: [Uint8Array, "bool"],
  bfloat16: [Uint16Array, "float"], float8_e4m3fn: [Uint8Array, "float"], float8_e4m3fnuz: [Uint8Array, "float"],
  float8_e5m2: [Uint8Array, "float"], float8_e5m2fnuz: [Uint8Array, "float"], float8_e8m0fnu: [Uint8Array, "float"],
  float4_e2m1fn: [Uint8Array, "float", 4], int4: [Int8Array, "int", 4], uint4: [Uint8Array, "uint", 4],
  int2: [Int8Array, "int", 2], uint2: [Uint8Array, "uint", 2],
};

// Small floats as [exponent bits, mantissa bits, bias, special values]: "ieee" (inf, NaN),
// "fn" (no inf; all-ones is NaN), "fnuz" (no inf, no -0; 0x80 is NaN), "sat" (neither;
// saturates), "e8m0" (powers of two, no sign, 0xff is NaN).
const SMALL_FLOATS = {
  float16: [5, 10, 15, "ieee"], bfloat16: [8, 7, 127, "ieee"], float8_e4m3fn: [4, 3, 7, "fn"],
  float8_e4m3fnuz: [4, 3, 8, "fnuz"], float8_e5m2: [5, 2, 15, "ieee"], float8_e5m2fnuz: [5, 2, 16, "fnuz"],
  float8_e8m0fnu: [8, 0, 127, "e8m0"], float4_e2m1fn: [2, 1, 1, "sat"],
};

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("webflow: shards are little-endian; this platform is not");

export class ModelLoadError extends Error {
  constructor(message, file) {
    super(message);
    this.name = "ModelLoadError";
    this.file = file; // "model.json" or the shard's file name
  }
}

// --- the public calls --------------------------------------------------------------------------

/** Load a converted model: `url` is its folder or its model.json. Returns {json, text, weights:
 * Map(name -> {dtype, shape, data})}: `json` is plain JSON.parse (integers past 2**53 inexact;
 * Python reads `text`); symbolic inline constants are left out, Python binds them per plan.
 * Errors are ModelLoadError, with `.file` the shard (or "model.json") at fault. */
export async function fetchModel(url, { onProgress, cache = true, fetchImpl = globalThis.fetch } = {}) {
  const jsonURL = modelJsonURL(url);
  const store = cache ? await openCache() : null;
  const text = await fetchManifest(jsonURL, store, fetchImpl);
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`${jsonURL}: not valid JSON: ${e.message}`, "model.json");
  }
  const { shards, tensors, total } = checkManifest(json, jsonURL);

  // All shards form one byte stream: each lands at its place, so a weight that spans shards
  // is contiguous and most weights are views, never copies.
  const stream = new Uint8Array(total);
  let loaded = 0;
  const progress = (n, file) => {
    if (n <= 0) return;
    loaded += n;
    if (onProgress) onProgress({ loaded, total, file });
  };
  const abort = new AbortController();
  let start = 0;
  const jobs = shards.map((s) => {
    const view = stream.subarray(start, (start += s.bytes));
    return loadShard(s, new URL(s.file, jsonURL).href, view, { store, fetchImpl, progress, signal: abort.signal });
  });
  try {
    await Promise.all(jobs);
  } catch (e) {
    abort.abort(); // the first failure ends the other downloads
    throw e;
  }
  // model.json goes into the cache only once its shards are there: the cache never holds a
  // manifest whose shards it cannot serve.
  if (store) await cachePut(store, jsonURL, text, "application/json");
  return { json, text, weights: decodeWeights(tensors, stream, text) };
}

/** Upload every decoded weight: Map(name -> handle). Low-precision floats go up as float32
 * values (the backend holds every float as float32). */
export async function uploadWeights(backend, weights) {
  const handles = new Map();
  try {
    for (const [name, w] of weights) {
      const data = SMALL_FLOATS[w.dtype] ? smallFloatsToFloat32(w.data, w.dtype) : w.data;
      handles.set(name, backend.upload(w.dtype, w.shape, data));
    }
  } catch (e) {
    for (const h of handles.values()) backend.dispose(h);
    throw e;
  }
  return handles;
}

// --- model.json ----------------------------------------------------------------------------------

function modelJsonURL(url) {
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  const u = new URL(String(url), base);
  if (u.pathname.endsWith(".json")) return u.href;
  if (!u.pathname.endsWith("/")) u.pathname += "/";
  return new URL("model.json", u).href;
}

async function fetchManifest(url, store, fetchImpl) {
  let failure;
  try {
    const r = await fetchImpl(url, { cache: "no-cache" });
    if (r.ok) return await r.text();
    failure = `HTTP ${r.status} ${r.statusText}`.trim();
  } catch (e) {
    failure = String(e);
  }
  const hit = store && (await store.match(url).catch(() => undefined));
  if (hit) return hit.text();
  throw new ModelLoadError(`${url}: could not fetch model.json: ${failure}${store ? " (and it is not in the cache)" : ""}`, "model.json");
}

/** The parts of model.json the loader needs, checked as webflow_py/format.py checks them. */
function checkManifest(doc, where) {
  const fail = (path, msg, file = "model.json") => {
    throw new ModelLoadError(`${where}: ${path}: ${msg}`, file);
  };
  const isObj = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  const isInt = (x) => Number.isInteger(x);
  if (!isObj(doc)) fail("(top)", "expected a JSON object");
  if (doc.format !== FORMAT_NAME) fail("format", `expected "${FORMAT_NAME}", got ${JSON.stringify(doc.format)}`);
  if (doc.version !== FORMAT_VERSION) fail("version", `this webflow reads format version ${FORMAT_VERSION}, the file has version ${JSON.stringify(doc.version)}`);
  const w = doc.weights;
  if (!isObj(w) || !Array.isArray(w.shards) || !Array.isArray(w.tensors)) fail("weights", "expected an object with lists 'shards' and 'tensors'");
  const shards = w.shards.map((s, i) => {
    const p = `weights.shards[${i}]`;
    if (!isObj(s)) fail(p, "expected an object");
    const f = s.file;
    if (typeof f !== "string" || !SHARD_NAME.test(f) || f === "." || f === "..") {
      fail(`${p}.file`, `shard file name ${JSON.stringify(f)} is not allowed: it must be a plain file name next to model.json ` +
        "(letters, digits, '_', '-', '.'; no '/', '\\', '..' or URL scheme)", typeof f === "string" ? f : undefined);
    }
    if (!isInt(s.bytes) || s.bytes < 0) fail(`${p}.bytes`, `expected a byte count, got ${JSON.stringify(s.bytes)}`, f);
    if (typeof s.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(s.sha256)) fail(`${p}.sha256`, "expected 64 lowercase hex digits", f);
    return { file: f, bytes: s.bytes, sha256: s.sha256 };
  });
  const total = shards.reduce((a, s) => a + s.bytes, 0);
  const seen = new Set();
  const tensors = w.tensors.map((t, i) => {
    const p = `weights.tensors[${i}]`;
    if (!isObj(t) || typeof t.name !== "string") fail(p, "expected an object with a string 'name'");
    if (!Object.hasOwn(DTYPES, t.dtype)) fail(`${p}.dtype`, `unknown dtype ${JSON.stringify(t.dtype)} (known: ${Object.keys(DTYPES).join(", ")})`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => isInt(d) && d >= 0)) fail(`${p}.shape`, "a weight has a concrete shape (non-negative ints)");
    if (seen.has(t.name)) fail(p, `weight ${JSON.stringify(t.name)} is listed twice`);
    seen.add(t.name);
    const e = { name: t.name, dtype: t.dtype, shape: [...t.shape], size: t.shape.reduce((a, b) => a * b, 1) };
    if ("value" in t) {
      if (!Array.isArray(t.value) || t.value.length !== e.size) fail(`${p}.value`, `tensor "${e.name}" of shape [${e.shape}] needs ${e.size} values`);
      return { ...e, index: i, value: t.value };
    }
    if (!isInt(t.offset) || !isInt(t.bytes)) fail(p, "a weight in the shards has integer 'offset' and 'bytes'");
    Object.assign(e, { offset: t.offset, bytes: t.bytes, storage: t.storage ?? null });
    if (e.storage !== null && (!["float32", "float16", "int8"].includes(e.storage) || e.dtype !== "float32")) {
      fail(`${p}.storage`, `storage ${JSON.stringify(e.storage)} is for float32 weights, one of float32, float16, int8`);
    }
    if (e.storage === "int8") {
      e.axis = t.quant_axis;
      if (!isInt(e.axis) || e.axis < 0 || e.axis >= Math.max(e.shape.length, 1)) fail(`${p}.quant_axis`, `axis ${JSON.stringify(e.axis)} is out of range for shape [${e.shape}]`);
    }
    const need = storedBytes(e);
    if (e.bytes !== need) fail(`${p}.bytes`, `tensor "${e.name}" (${e.storage ?? e.dtype}, shape [${e.shape}]) needs ${need} bytes, manifest says ${e.bytes}`);
    if (e.offset < 0 || e.offset + e.bytes > total) fail(p, `tensor "${e.name}" spans bytes ${e.offset}..${e.offset + e.bytes} but the shards hold ${total}`);
    return e;
  });
  return { shards, tensors, total };
}

function storedBytes(e) {
  if (e.storage === "int8") return pad4(e.size) + 4 * e.shape[e.axis];
  return e.size * DTYPES[e.storage ?? e.dtype][0].BYTES_PER_ELEMENT;
}

const pad4 = (n) => (n + 3) & ~3;

// --- shards ----------------------------------------------------------------------------------------

async function loadShard(s, url, view, { store, fetchImpl, progress, signal }) {
  if (store) {
    try {
      const hit = await store.match(url);
      if (hit) {
        const n = await readInto(hit, view, null);
        if (n === s.bytes && (await sha256Hex(view)) === s.sha256) return progress(n, s.file);
        await store.delete(url); // a shard of an older model under the same name, or damaged
      }
    } catch {
      // an unreadable cache is a cache miss
    }
  }
  let response;
  try {
    response = await fetchImpl(url, { signal });
  } catch (e) {
    throw new ModelLoadError(`${url}: could not fetch shard ${s.file}: ${e} (expected ${s.bytes} bytes)`, s.file);
  }
  if (!response.ok) {
    throw new ModelLoadError(`${url}: shard ${s.file} is missing: HTTP ${response.status} ${response.statusText}`.trim() +
      ` (expected HTTP 200 with ${s.bytes} bytes)`, s.file);
  }
  const n = await readInto(response, view, (k) => progress(k, s.file));
  if (n !== s.bytes) throw new ModelLoadError(`${url}: shard ${s.file} is ${n} bytes, model.json says ${s.bytes} (truncated or wrong file)`, s.file);
  const got = await sha256Hex(view);
  if (got !== s.sha256) throw new ModelLoadError(`${url}: shard ${s.file}: sha256 mismatch: model.json says ${s.sha256}, the file hashes to ${got}`, s.file);
  if (store) await cachePut(store, url, view, "application/octet-stream");
}

/** Stream a body into `view`; returns the byte count (bytes past the view's end are counted,
 * not kept). `onChunk(k)` gets the bytes that fit, so progress never passes the total. */
async function readInto(response, view, onChunk) {
  if (!response.body) {
    const all = new Uint8Array(await response.arrayBuffer());
    view.set(all.subarray(0, view.length));
    if (onChunk) onChunk(Math.min(all.length, view.length));
    return all.length;
  }
  const reader = response.body.getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    const fit = Math.max(0, Math.min(value.length, view.length - n));
    view.set(value.subarray(0, fit), n);
    n += value.length;
    if (onChunk) onChunk(fit);
  }
}

async function openCache() {
  try {
    return globalThis.caches ? await caches.open(CACHE_NAME) : null; // no Cache API off secure contexts
  } catch {
    return null;
  }
}

async function cachePut(store, url, body, type) {
  try {
    await store.put(url, new Response(body, { headers: { "Content-Type": type } }));
  } catch (e) {
    console.warn(`webflow: could not cache ${url}: ${e}`); // quota: the model still loads
  }
}

async function sha256Hex(bytes) {
  const digest = globalThis.crypto?.subtle ? new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)) : sha256(bytes);
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// SHA-256 (FIPS 180-4) for pages without crypto.subtle (plain http on a LAN address).
let K256;
export function sha256(bytes) {
  if (!K256) {
    const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
    const primes = [];
    for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p)) primes.push(n);
    K256 = { k: Uint32Array.from(primes, (p) => frac(Math.cbrt(p))), h: Uint32Array.from(primes.slice(0, 8), (p) => frac(Math.sqrt(p))) };
  }
  const n = bytes.length, padded = new Uint8Array(pad64(n + 9));
  padded.set(bytes);
  padded[n] = 0x80;
  const dv = new DataView(padded.buffer);
  dv.setUint32(padded.length - 8, Math.floor(n / 2 ** 29));
  dv.setUint32(padded.length - 4, (n * 8) >>> 0);
  const h = K256.h.slice(), w = new Uint32Array(64);
  const rotr = (x, r) => (x >>> r) | (x << (32 - r));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      w[i] = w[i - 16] + (rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3)) + w[i - 7] + (rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10));
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256.k[i] + w[i];
      const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      [k, g, f, e, d, c, b, a] = [g, f, e, (d + t1) | 0, c, b, a, (t1 + t2) | 0];
    }
    [a, b, c, d, e, f, g, k].forEach((x, i) => (h[i] += x));
  }
  const out = new Uint8Array(32);
  h.forEach((x, i) => new DataView(out.buffer).setUint32(4 * i, x));
  return out;
}
const pad64 = (n) => Math.ceil(n / 64) * 64;

// --- decoding (webflow_py/weights.py decode_weight) -----------------------------------------------

function decodeWeights(tensors, stream, text) {
  const weights = new Map();
  let exact; // model.json re-read with exact big integers, only if an int64 constant needs it
  const exactValues = (i) => (exact ??= parseExactInts(text)).weights.tensors[i].value;
  for (const e of tensors) {
    const data = e.value ? decodeInline(e, exactValues) : decodeStored(e, stream);
    if (data) weights.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return weights;
}

function decodeStored(e, stream) {
  if (e.storage === "int8") {
    const q = new Int8Array(stream.buffer, e.offset, e.size);
    const channels = e.shape[e.axis], scales = view(Float32Array, stream, e.offset + pad4(e.size), channels);
    const inner = e.shape.slice(e.axis + 1).reduce((a, b) => a * b, 1);
    const out = new Float32Array(e.size);
    // q x scale is exact in float64 (8 x 24 bits), so rounding it once to float32 is numpy's product
    for (let i = 0, block = 0; i < e.size; block++) {
      const s = scales[block % channels];
      for (const end = i + inner; i < end; i++) out[i] = q[i] * s;
    }
    return out;
  }
  if (e.storage === "float16") return smallFloatsToFloat32(view(Uint16Array, stream, e.offset, e.size), "float16");
  const data = view(DTYPES[e.dtype][0], stream, e.offset, e.size);
  return e.dtype === "float4_e2m1fn" ? data.map((c) => c & 0x0f) : data; // a 4-bit code in the low nibble
}

// A typed-array view of the stream, or a copy where the offset does not suit the element size
// (every weight starts at a multiple of 4; an 8-byte dtype may not start at a multiple of 8).
function view(T, stream, offset, length) {
  if (offset % T.BYTES_PER_ELEMENT === 0) return new T(stream.buffer, offset, length);
  return new T(stream.buffer.slice(offset, offset + length * T.BYTES_PER_ELEMENT));
}

const NON_FINITE = { nan: NaN, inf: Infinity, "-inf": -Infinity };

function decodeInline(e, exactValues) {
  const [T, kind] = DTYPES[e.dtype];
  const where = `weights.tensors[${e.index}] (${e.name})`;
  if (kind === "float") {
    const vals = e.value.map((v) => {
      const x = typeof v === "string" ? NON_FINITE[v] ?? Number(v) : Number(v);
      if (Number.isNaN(x) && v !== "nan") throw new ModelLoadError(`model.json: ${where}: ${JSON.stringify(v)} is not a number`, "model.json");
      return x;
    });
    if (e.dtype === "float32" || e.dtype === "float64") return T.from(vals);
    return T.from(vals, (x) => encodeSmallFloat(x, e.dtype));
  }
  if (kind === "bool") return Uint8Array.from(e.value, (v) => (v ? 1 : 0));
  if (e.value.some((v) => typeof v === "string")) return null; // symbolic dims: Python binds them per plan
  const bits = BigInt(DTYPES[e.dtype][2] ?? 8 * T.BYTES_PER_ELEMENT);
  const [lo, hi] = kind === "int" ? [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n] : [0n, 2n ** bits - 1n];
  const big = T === BigInt64Array || T === BigUint64Array;
  const vals = !big || e.value.every((v) => Number.isSafeInteger(v)) ? e.value : exactValues(e.index);
  return T.from(vals, (v) => {
    let b = typeof v === "bigint" ? v : BigInt(Math.trunc(Number(v)));
    // an int64 JSON.parse could not read exactly (no source text access here): 2**63-1 reads as 2**63
    if (big && typeof v === "number" && !Number.isSafeInteger(v)) b = b < lo ? lo : b > hi ? hi : b;
    if (b < lo || b > hi) throw new ModelLoadError(`model.json: ${where}: ${b} is outside the range of ${e.dtype} [${lo}, ${hi}]`, "model.json");
    return big ? b : Number(b);
  });
}

// JSON.parse rounds integers past 2**53 (int64 Slice ends, uint64 masks); where the engine gives
// the number's source text (JSON.parse source text access), read them exactly as BigInt.
function parseExactInts(text) {
  return JSON.parse(text, (key, v, ctx) =>
    typeof v === "number" && !Number.isSafeInteger(v) && ctx?.source && /^-?\d+$/.test(ctx.source) ? BigInt(ctx.source) : v);
}

// --- small floats: float64 -> code (as numpy / ml_dtypes round) and code -> float32 ------------------

function encodeSmallFloat(x, dtype) {
  const [E, M, bias, kind] = SMALL_FLOATS[dtype];
  if (dtype === "bfloat16") x = Math.fround(x); // ml_dtypes rounds through float32 first (numpy float16 does not)
  const sign = 1 << (E + M), top = (1 << E) - 1;
  if (kind === "e8m0") {
    if (!(x > 0) || x === Infinity) return 0xff;
    let e = exponent(x);
    if (e === -127) return x > 2 ** -127 ? 1 : 0; // ml_dtypes rounds anything above 2**-127 up
    if (x / 2 ** e >= 1.5) e++; // ties away from zero
    return e < -127 ? 0 : e > 127 ? 0xff : e + bias;
  }
  const nan = { ieee: (top << M) | (1 << (M - 1)), fn: (top << M) | ((1 << M) - 1), fnuz: sign, sat: sign }[kind];
  if (Number.isNaN(x)) return nan;
  const s = x < 0 || Object.is(x, -0) ? sign : 0;
  const maxCode = kind === "ieee" ? ((top - 1) << M) | ((1 << M) - 1) : kind === "fn" ? (top << M) - 2 + (1 << M) : (top << M) | ((1 << M) - 1);
  const over = { ieee: (top << M) | s, fn: nan | s, fnuz: nan, sat: maxCode | s }[kind];
  const a = Math.abs(x);
  if (a === Infinity) return over;
  let e = Math.max(1 - bias, a > 0 ? exponent(a) : -Infinity);
  let q = roundHalfEven(a * 2 ** (M - e)); // scaling by a power of two is exact
  if (q === 2 ** (M + 1)) (q /= 2), e++;
  const code = q >= 2 ** M ? ((e + bias) << M) | (q - 2 ** M) : q;
  if (code > maxCode) return over;
  return code === 0 && kind === "fnuz" ? 0 : code | s;
}

function exponent(a) {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return e;
}

function roundHalfEven(q) {
  const f = Math.floor(q), d = q - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

const CODE_TABLES = new Map(); // dtype -> Uint32Array: code -> float32 bits (NaN payloads kept for float16)

/** Codes of a small float dtype (float16 bits, bfloat16, float8, float4) -> Float32Array. */
export function smallFloatsToFloat32(codes, dtype) {
  if (dtype === "bfloat16") {
    const out = new Uint32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = codes[i] << 16;
    return new Float32Array(out.buffer);
  }
  let table = CODE_TABLES.get(dtype);
  if (!table) CODE_TABLES.set(dtype, (table = codeTable(dtype)));
  const out = new Uint32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]];
  return new Float32Array(out.buffer);
}

function codeTable(dtype) {
  const [E, M, bias, kind] = SMALL_FLOATS[dtype];
  const n = 1 << (E + M + (kind === "e8m0" ? 0 : 1));
  const bits = new Uint32Array(n), f = new Float32Array(bits.buffer);
  for (let c = 0; c < n; c++) {
    const neg = kind !== "e8m0" && c >> (E + M), ex = (c >> M) & ((1 << E) - 1), m = c & ((1 << M) - 1);
    if (dtype === "float16") { // bit for bit, as numpy converts (NaN payloads kept)
      const s = neg ? 0x80000000 : 0;
      if (ex === 31) bits[c] = s | 0x7f800000 | (m << 13);
      else if (ex || !m) f[c] = (neg ? -1 : 1) * (ex ? 1 + m / 1024 : 0) * 2 ** (ex - 15);
      else f[c] = (neg ? -1 : 1) * m * 2 ** -24;
      continue;
    }
    let v;
    if (kind === "e8m0") v = c === 0xff ? NaN : 2 ** (c - bias);
    else if (kind === "fnuz" && c === 1 << (E + M)) v = NaN;
    else if (kind === "fn" && ex === (1 << E) - 1 && m === (1 << M) - 1) v = NaN;
    else if (kind === "ieee" && ex === (1 << E) - 1) v = m ? NaN : Infinity;
    else v = ex ? (1 + m / 2 ** M) * 2 ** (ex - bias) : m * 2 ** (1 - bias - M);
    f[c] = neg ? -v : v;
  }
  return bits;
}
