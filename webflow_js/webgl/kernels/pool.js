// Pools: MaxPool (values and ONNX Indices), AveragePool, LpPool and the global pools, any
// spatial rank, NCHW or NHWC. One window walker serves them all; the global pools are windows
// as large as the input. With NHWC and C % 4 == 0 a fragment pools 4 channels of one pixel
// from one texel per tap (the 4 windows coincide), else one element per invocation.

import { layoutOf, windowPads } from "./conv.js";
import { hoist } from "./linalg.js";

const ones = (n) => new Array(n).fill(1);

const HELPERS = `
bvec4 or4(bvec4 a, bvec4 b) { return bvec4(a.x || b.x, a.y || b.y, a.z || b.z, a.w || b.w); }
bvec4 and4(bvec4 a, bvec4 b) { return bvec4(a.x && b.x, a.y && b.y, a.z && b.z, a.w && b.w); }
`;

// GLSL folding one tap value v (float, or vec4 for 4 channels) into the pool's state.
function fold(mode, lanes, V) {
  if (mode === "avg") return "best += v;";
  if (mode === "lp") return `best += pow(abs(v), ${V}(p_));`;
  // the first tap on the input, then a greater one; a NaN wins and stays (np.argmax)
  if (lanes === 1) return "if (first || v > best || (isnan(v) && !isnan(best))) { best = v; arg = float(idx); }";
  return `bvec4 take = first ? bvec4(true) : or4(greaterThan(v, best), and4(isnan(v), not(isnan(best))));
      best = mix(best, v, take); arg = mix(arg, vec4(float(idx)) + vec4(0.0, 1.0, 2.0, 3.0), take);`;
}

function walker(R, nhwc, mode, lanes, outputIndex) {
  const V = lanes === 4 ? "vec4" : "float";
  const os = Array.from({ length: R }, (_, k) => R - 1 - k).map((d) => `  int o${d} = r % osz[${d}]; r /= osz[${d}];\n`).join("");
  const coords = lanes === 4
    ? `  int e = t * 4;\n  if (e >= out_size) return vec4(0.0);\n  int m = e % C_, r = e / C_;\n${os}  int n = r;\n`
    : `  int n = c[0], m = c[${nhwc ? R + 1 : 1}]; ${Array.from({ length: R }, (_, d) => `int o${d} = c[${nhwc ? 1 + d : 2 + d}];`).join(" ")}\n`;
  let open = "", close = "", off = "xo", idx = "xo";
  for (let d = 0; d < R; d++) {
    // lo/hi include the pads when AveragePool counts them; taps there count but read nothing
    open += `  for (int k${d} = 0; k${d} < kern[${d}]; k${d}++) {
    int i${d} = o${d} * str[${d}] + k${d} * dil[${d}] - pad[${d}];
    if (i${d} < lo[${d}] || i${d} >= hi[${d}]) continue;
    bool in${d} = ${d ? `in${d - 1} && ` : ""}i${d} >= 0 && i${d} < xsz[${d}];\n`;
    close += "  }\n";
    off += ` + i${d} * xst[${d}]`;
    idx += ` + i${d} * ist[${d}]`;
  }
  const fetch = lanes === 4 ? `X_texel((${off}) >> 2)` : `X_flat(${off})`;
  const result = { max: outputIndex ? "arg" : "best", avg: `best / float(count)`, lp: `pow(best, ${V}(1.0 / p_))` }[mode];
  const body = `${coords}  int xo = n * xsN + m * xsC;
  ${V} best = ${V}(0.0), arg = ${V}(-1.0);
  bool first = true;
  int count = 0;
${open}    if (in${R - 1}) {
      int idx = ${idx};
      ${V} v = ${fetch};
      ${fold(mode, lanes, V)}
      first = false;
    }
    count++;
${close}  return ${result};`;
  return lanes === 4 ? `vec4 compute_texel(int t) {\n${body}\n}` : body;
}

function prepare({ op, inputs, output, outputIndex, attrs }) {
  const x = inputs[0], nhwc = attrs.layout === "NHWC";
  const X = layoutOf(x.shape, nhwc), Y = layoutOf(output.shape, nhwc), R = X.sizes.length;
  const global = op.startsWith("Global");
  const kernel = global ? X.sizes : attrs.kernel_shape;
  const st = !global && attrs.strides && attrs.strides.length ? attrs.strides : ones(R);
  const dil = !global && attrs.dilations && attrs.dilations.length ? attrs.dilations : ones(R);
  const { begin, end } = global ? { begin: ones(R).fill(0), end: ones(R).fill(0) } : windowPads(X.sizes, kernel, st, dil, attrs.pads, attrs.auto_pad);
  const mode = { MaxPool: "max", GlobalMaxPool: "max", AveragePool: "avg", GlobalAveragePool: "avg", LpPool: "lp" }[op];
  const includePad = mode === "avg" && attrs.count_include_pad;
  // MaxPool Indices with storage_order=1: the spatial part of the index is column-major
  const ist = attrs.storage_order && !nhwc ? X.sizes.map((_, d) => X.sizes.slice(0, d).reduce((a, b) => a * b, 1)) : X.sp;
  const lanes = nhwc && X.c % 4 === 0 ? 4 : 1;
  return hoist({
    texel: lanes === 4,
    helpers: HELPERS,
    body: walker(R, nhwc, mode, lanes, outputIndex),
    uniforms: {
      C_: ["int", X.c], xsN: ["int", X.sN], xsC: ["int", X.sC],
      xsz: ["int", X.sizes], xst: ["int", X.sp], ist: ["int", ist], osz: ["int", Y.sizes],
      kern: ["int", kernel], str: ["int", st], dil: ["int", dil], pad: ["int", begin],
      lo: ["int", includePad ? begin.map((b) => -b) : ones(R).fill(0)],
      hi: ["int", X.sizes.map((s, d) => (includePad ? s + end[d] : s))],
      p_: ["float", attrs.p ?? 2],
    },
  });
}

export const pool = {
  ops: ["MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool"],
  inputNames: ["X"],
  prepare,
};
