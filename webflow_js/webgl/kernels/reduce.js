// Reductions as a table served by one kernel; ArgMax/ArgMin; the softmax family.
//
// Every output element walks the input elements it reduces: its base index in X is a dot
// product of its own coordinates with red_kstr (X's stride per output dim, 0 on reduced dims),
// then K nested loops run over the reduced axes. K is baked into the source (adjacent reduced
// axes merge into one loop); sizes and strides are uniforms, so one program serves every shape
// with the same reduced-axes pattern.
//
// A statistic (a reduction, or what a normalization needs per row) is computed in stages (one
// draw each, see statStages): ops that normalize along axes (softmax here, norm.js) then map
// every element in a last draw, O(n) work per row rather than O(n²). A long walk feeding few
// outputs would leave the GPU idle (one fragment runs each walk), so it is split into chunks
// reduced in parallel, then merged.

import { MATH, unaryFunction } from "./elementwise.js";

export function reduction(shape, axes, keepdims = true) {
  const rank = shape.length;
  const strides = new Array(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) (strides[d] = s), (s *= shape[d]);
  const reduced = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  const kstr = [], rshape = [], rstr = [], out = [];
  for (let d = 0; d < rank; d++) {
    if (!reduced.has(d)) {
      kstr.push(strides[d]), out.push(shape[d]);
      continue;
    }
    if (keepdims) kstr.push(0), out.push(1);
    if (reduced.has(d - 1)) (rshape[rshape.length - 1] *= shape[d]), (rstr[rstr.length - 1] = strides[d]);
    else rshape.push(shape[d]), rstr.push(strides[d]);
  }
  if (!kstr.length) kstr.push(0);
  const K = rshape.length, count = rshape.reduce((a, b) => a * b, 1);
  // whole texels can be read when the innermost reduced axis is contiguous and every walk
  // starts on a texel boundary (checked for base at run time): a quarter of the fetches
  const vec = K > 0 && rstr[K - 1] === 1 && rshape[K - 1] % 4 === 0 && rstr.slice(0, -1).every((s) => s % 4 === 0);
  const uniforms = {
    red_kstr: ["int", kstr], red_shape: ["int", rshape], red_str: ["int", rstr], red_count: ["int", count], red_vec: ["int", vec ? 1 : 0],
  };
  const base = kstr.map((_, d) => `c[${d}] * red_kstr[${d}]`).join(" + ");
  // GLSL running `stmt` on each element of the walk from `base` (an int the caller declares);
  // stmt sees v (the element of X) and idx (its flat index); [from, to) bounds the outermost loop
  const loop = (stmt, [from, to] = ["0", "red_shape[0]"]) => {
    const at = ["base", ...rshape.map((_, k) => `a${k} * red_str[${k}]`)].join(" + ");
    const one = (v, idx) => `{ int idx = ${idx}; float v = ${v}; ${stmt} }`;
    const nest = (inner, step) => {
      let code = inner;
      for (let k = K - 1; k >= 0; k--) {
        code = `for (int a${k} = ${k ? "0" : from}; a${k} < ${k ? `red_shape[${k}]` : to}; a${k} += ${k === K - 1 ? step : 1}) { ${code} }`;
      }
      return code;
    };
    const scalar = nest(`int at_ = ${at}; ${one("X_flat(at_)", "at_")}`, 1);
    if (K === 0) return `  { ${scalar} }\n`;
    const quad = nest(`int at_ = ${at}; vec4 q_ = X_texel(at_ >> 2);\n${[0, 1, 2, 3].map((k) => `        ${one(`q_[${k}]`, `at_ + ${k}`)}`).join("\n")}`, 4);
    return `  if (red_vec == 1 && (base & 3) == 0) { ${quad} } else { ${scalar} }\n`;
  };
  return { uniforms, base, loop, shape: out, K, rshape, count };
}

const ADD = "r += v;";
const MAX = "if (isnan(v) || v > r) r = v;"; // NaN sticks: v > NaN is false
const MIN = "if (isnan(v) || v < r) r = v;";

// The stages computing one statistic per output of the walk w, the last one named `name` (a
// later draw reads it as that input): r = init, then combine each mapped element v into r,
// then finish (which sees r, n = the count, and what `pre` declared). `pre` runs first and may
// read earlier statistics at `row`, this output's index. One fragment runs a whole walk, so
// a few long walks would leave a GPU idle: then a stage first reduces chunks
// of the walk's outermost loop in parallel into [...outputs, parts] (aiming at 16384 parts of
// at least 64 elements, at most 1024 parts an output), and the last stage combines the parts.
export function statStages(w, name, { init = "0.0", map = "v", combine = ADD, finish = "r", pre = "" }, extra = {}) {
  const uniforms = { ...w.uniforms, ...extra };
  const walk = (range) => `  float r = ${init};\n${w.loop(`v = ${map}; ${combine}`, range)}`;
  const rows = w.shape.reduce((a, b) => a * b, 1), outer = w.rshape[0] || 1, inner = w.count / outer;
  let chunk = Math.max(Math.ceil(64 / inner), Math.ceil(outer / Math.min(Math.ceil(16384 / Math.max(rows, 1)), 1024)));
  if (w.K === 1) chunk = Math.ceil(chunk / 4) * 4; // parts must start on texel boundaries
  const parts = Math.ceil(outer / chunk);
  const tail = `  int n = red_count;\n  return ${finish};`;
  if (!w.K || w.count < 256 || parts < 2) {
    return [{ name, shape: w.shape, body: `  int base = ${w.base}, row = i;\n${pre}${walk()}${tail}`, uniforms, helpers: HELPERS }];
  }
  const more = { ...uniforms, red_parts: ["int", parts], red_chunk: ["int", chunk] };
  const part = `  int base = ${w.base}, row = i / red_parts, lo = c[${w.shape.length}] * red_chunk;\n${pre}${walk(["lo", "min(lo + red_chunk, red_shape[0])"])}  return r;`;
  const merge = `  int row = i;\n${pre}  float r = ${init};\n  for (int p = 0; p < red_parts; p++) { float v = ${name}_P_flat(i * red_parts + p); ${combine} }\n${tail}`;
  return [
    { name: `${name}_P`, shape: [...w.shape, parts], body: part, uniforms: more, helpers: HELPERS },
    { name, shape: w.shape, body: merge, uniforms: more, helpers: HELPERS },
  ];
}

// An output computed by stages: the last stage is the output's own draw.
export const lastStage = (stages) => ({ ...stages[stages.length - 1], stages: stages.slice(0, -1) });

// name: [init, map, combine, finish]: map turns an element into what is combined into r
const REDUCE = {
  ReduceSum: ["0.0", "v", ADD, "r"],
  ReduceMean: ["0.0", "v", ADD, "intlike == 1 ? idiv_(r, n) : (n == 0 ? NAN : r / float(n))"],
  ReduceMax: ["-INF", "v", MAX, "n == 0 && intlike == 1 ? empty_ : r"],
  ReduceMin: ["INF", "v", MIN, "n == 0 && intlike == 1 ? empty_ : r"],
  ReduceProd: ["1.0", "v", "r *= v;", "r"],
  ReduceL1: ["0.0", "abs(v)", ADD, "r"],
  ReduceL2: ["0.0", "v * v", ADD, "intlike == 1 ? isqrt_(r) : sqrt(r)"],
  ReduceSumSquare: ["0.0", "v * v", ADD, "r"],
  ReduceLogSum: ["0.0", "v", ADD, "log_(r)"],
  ReduceLogSumExp: ["0.0", "exp_(v - m)", ADD, "log_(r) + m"], // m: the shift, a statistic of its own
};

// Integer results truncate toward zero (the reference casts back); they are corrected because
// GPU division and sqrt need not round exactly (21.0 / 3.0 may give 6.9999995).
const INT_MATH = `
float idiv_(float r, int n) {
  if (n == 0) return 0.0;
  float a = abs(r), d = float(n), q = floor(a / d);
  if ((q + 1.0) * d <= a) q += 1.0;
  if (q * d > a) q -= 1.0;
  return sign(r) * q;
}
float isqrt_(float r) {
  float q = floor(sqrt(r));
  if ((q + 1.0) * (q + 1.0) <= r) q += 1.0;
  if (q * q > r) q -= 1.0;
  return q;
}`;

// GLSL's exp(NaN) need not be NaN (SwiftShader's is not); NaN must reach the result, as in numpy.
const EXP = "float exp_(float x) { return isnan(x) ? x : exp(x); }";
const HELPERS = [MATH, EXP, INT_MATH, unaryFunction("Log", {}, "log_").helpers].join("\n");

const EMPTY = { // identities of max/min over no elements, for integer dtypes (floats use ±INF)
  ReduceMax: { int8: -128, int16: -32768, int32: -(2 ** 31), int64: -(2 ** 63) },
  ReduceMin: { int8: 127, uint8: 255, int16: 32767, uint16: 65535, int32: 2 ** 31 - 1, uint32: 2 ** 32 - 1, int64: 2 ** 63, uint64: 2 ** 64, bool: 1 },
};

const isInt = (dtype) => dtype !== "float32" && dtype !== "float64" && dtype !== "float16";
const range = (n) => Array.from({ length: n }, (_, k) => k);

export const reduce = {
  ops: Object.keys(REDUCE),
  inputNames: ["X"],
  prepare({ op, inputs, attrs }) {
    const x = inputs[0];
    const axes = attrs.axes && attrs.axes.length ? attrs.axes : attrs.noop_with_empty_axes ? [] : range(x.shape.length);
    const w = reduction(x.shape, axes, !!attrs.keepdims);
    const [init, map, combine, finish] = REDUCE[op];
    const extra = { intlike: ["int", isInt(x.dtype) ? 1 : 0], empty_: ["float", (EMPTY[op] || {})[x.dtype] || 0] };
    if (op !== "ReduceLogSumExp") return lastStage(statStages(w, "R", { init, map, combine, finish }, extra));
    // shifted by the max, or by 0 when that is infinite (as the reference: ±inf rows give ±inf, not NaN)
    const pre = "  float m = M_flat(row);\n  m = (isinf(m) || isnan(m)) ? 0.0 : m;\n";
    return lastStage([...statStages(w, "M", { init: "-INF", combine: MAX }), ...statStages(w, "R", { init, map, combine, finish, pre })]);
  },
};

// ArgMax/ArgMin: NaN counts as the extreme; ties take the first index, or the last.
export const arg = {
  ops: ["ArgMax", "ArgMin"],
  inputNames: ["X"],
  prepare({ op, inputs, attrs }) {
    const x = inputs[0];
    const w = reduction(x.shape, [attrs.axis], !!attrs.keepdims);
    const cmp = op === "ArgMax" ? ">" : "<";
    const take = attrs.select_last_index ? `isnan(v) || (!isnan(best) && v ${cmp}= best)` : `!isnan(best) && (isnan(v) || v ${cmp} best)`;
    const body = `  int base = ${w.base};\n  float best = 0.0; int at = -1;\n${w.loop(`if (at < 0 || ${take}) { best = v; at = idx; }`)}  return float((at - base) / red_str[0]);`;
    return { body, uniforms: w.uniforms };
  },
};

// Softmax, LogSoftmax, Hardmax along one axis: statistics in stages, then one element-wise draw.
export const softmax = {
  ops: ["Softmax", "LogSoftmax", "Hardmax"],
  inputNames: ["X"],
  prepare({ op, inputs, attrs }) {
    const rank = inputs[0].shape.length;
    const w = reduction(inputs[0].shape, [attrs.axis]);
    if (op === "Hardmax") { // the position of the first largest along the axis, NaN counting as largest
      const take = "if (at < 0 || (!isnan(best) && (isnan(v) || v > best))) { best = v; at = idx; }";
      const A = { name: "A", shape: w.shape, uniforms: w.uniforms, body: `  int base = ${w.base};\n  float best = 0.0; int at = -1;\n${w.loop(take)}  return float((at - base) / red_str[0]);` };
      return { stages: [A], uniforms: { axis_: ["int", attrs.axis < 0 ? attrs.axis + rank : attrs.axis] }, body: "  return c[axis_] == int(A_bcast(c)) ? 1.0 : 0.0;" };
    }
    const stages = [...statStages(w, "M", { init: "-INF", combine: MAX }), ...statStages(w, "S", { pre: "  float m = M_flat(row);\n", map: "exp_(v - m)" })];
    const value = op === "Softmax" ? "exp_(X_flat(i) - m) / s" : "(X_flat(i) - m) - log_(s)";
    return { stages, helpers: HELPERS, body: `  float m = M_bcast(c), s = S_bcast(c);\n  return ${value};` };
  },
};
