// MatMul and Gemm: one matrix-product kernel. Layout and broadcasting become strides (uniforms);
// only the access pattern is baked, so one program serves every size with that pattern.
//
// On SwiftShader (WebGL on the CPU) texture fetches and index arithmetic dominate, so the fast
// path is a texel kernel: each fragment writes 4 consecutive outputs along N and walks K four
// at a time, reading whole texels wherever 4 consecutive elements share one: A's row along K,
// and B's row along N (or along K when B is transposed). That is 5 fetches per 16 multiply-adds.

import { MATH, unaryFunction } from "./elementwise.js";

// The fused activation (or none) as `float act(float x)`, with its uniforms.
export function activation(attrs) {
  const act = attrs.activation;
  if (!act) return { helpers: "float act(float x) { return x; }", uniforms: {} };
  const f = unaryFunction(act.op, act, "act", "act_");
  return { helpers: MATH + f.helpers, uniforms: f.uniforms };
}

// One step of the K loop (4 values of k), walking running indices instead of multiplying:
// `av`: A's row is texels along K (ta: texel index), else scalars (ia: element index);
// `bmode`: "n" (B's rows are texels along N), "k" (B's columns are texels along K, as in a
// transposed B) or "s" (scalars); tb / ib index B the same way.
function inner(av, bmode, texel) {
  const a4 = av
    ? "vec4 a = A_texel(ta); ta++;"
    : "vec4 a = vec4(A_flat(ia), A_flat(ia + sAk), A_flat(ia + 2 * sAk), A_flat(ia + 3 * sAk)); ia += 4 * sAk;";
  const bcol = (o) => `vec4(B_flat(${o}), B_flat(${o} + sBn), B_flat(${o} + 2 * sBn), B_flat(${o} + 3 * sBn))`;
  let step;
  if (!texel) {
    const b4 = bmode === "k"
      ? "vec4 b = B_texel(tb); tb++;"
      : "vec4 b = vec4(B_flat(ib), B_flat(ib + sBk), B_flat(ib + 2 * sBk), B_flat(ib + 3 * sBk)); ib += 4 * sBk;";
    step = `${a4}\n    ${b4}\n    acc += dot(a, b);`;
  } else if (bmode === "n") {
    // rows k..k+3 of B at columns n..n+3: one texel each
    step = `${a4}
    vec4 b0 = B_texel(tb), b1 = B_texel(tb + rs), b2 = B_texel(tb + 2 * rs), b3 = B_texel(tb + 3 * rs); tb += 4 * rs;
    acc += a.x * b0; acc += a.y * b1; acc += a.z * b2; acc += a.w * b3;`;
  } else if (bmode === "k") {
    // columns n..n+3 of B at rows k..k+3: one texel each
    step = `${a4}
    vec4 b0 = B_texel(tb), b1 = B_texel(tb + rs), b2 = B_texel(tb + 2 * rs), b3 = B_texel(tb + 3 * rs); tb++;
    acc += vec4(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));`;
  } else {
    step = `${a4}
    acc += a.x * ${bcol("ib")}; acc += a.y * ${bcol("(ib + sBk)")}; acc += a.z * ${bcol("(ib + 2 * sBk)")}; acc += a.w * ${bcol("(ib + 3 * sBk)")};
    ib += 4 * sBk;`;
  }
  const tail = texel
    ? `{ int o = bo + k * sBk; acc += A_flat(ao + k * sAk) * ${bcol("o")}; }`
    : "acc += A_flat(ao + k * sAk) * B_flat(bo + k * sBk);";
  return { step, tail };
}

// The shader of C = A' B' (batched) plus an epilogue: `one`, the body of float finish(float acc,
// int e, int m, int n) for output element e, and optionally `four`, the body of vec4
// finish4(vec4 acc, int e, int m, int n) for elements e..e+3, which are outputs n..n+3; `start`,
// where the 4 accumulators of a texel start (a bias texel: one fetch per fragment, also in a
// block kernel).
// g: {M, N, K, sAm, sAk, sBk, sBn, batch: [dims], aStr, bStr} in elements.
export function product(g, { one, four, start = "vec4(0.0)" }, banded = false) {
  const nb = g.batch.length;
  const av = g.sAk === 1 && g.K % 4 === 0 && g.sAm % 4 === 0;
  const texel = g.N % 4 === 0;
  const bmode = g.sBn === 1 && g.sBk % 4 === 0 && texel ? "n" : g.sBk === 1 && g.K % 4 === 0 && (g.sBn % 4 === 0 || g.N === 1) ? "k" : "s";
  const bands = banded && texel && av && bmode === "k" && !nb ? (banded >= 8 ? 8 : 4) : 0;
  const { step, tail } = inner(av, bmode, texel);
  const offsets = `  int n = e % N_, r = e / N_, m = r % M_, b = r / M_;
  int ao = m * sAm, bo = n * sBn;
${nb ? `  for (int d = ${nb - 1}; d >= 0; d--) { int q = b % bshape[d]; b /= bshape[d]; ao += q * astr[d]; bo += q * bstr[d]; }` : ""}`;
  // B's texel stride between the 4 rows (n mode) or columns (k mode) one step reads
  const rs = bmode === "n" ? "sBk >> 2" : bmode === "k" ? "sBn >> 2" : "0";
  const loop = `  int K4 = K_ & ~3;
  int ta = ao >> 2, ia = ao, tb = bo >> 2, ib = bo, rs = ${rs};
  for (int k = 0; k < K4; k += 4) {
    ${step}
  }
  for (int k = K4; k < K_; k++) ${tail}`;
  const uniforms = {
    M_: ["int", g.M], N_: ["int", g.N], K_: ["int", g.K], sAm: ["int", g.sAm], sAk: ["int", g.sAk], sBk: ["int", g.sBk], sBn: ["int", g.sBn],
    ...(nb ? { bshape: ["int", g.batch], astr: ["int", g.aStr], bstr: ["int", g.bStr] } : {}),
  };
  const body = bands
    ? blockBody(start, bands)
    : texel
    ? `vec4 compute_texel(int t) {
  int e = t * 4;
  if (e >= out_size) return vec4(0.0);
${offsets}
  vec4 acc = ${start};
${loop}
  return finish4(acc, e, m, n);
}`
    : `  int e = i;
${offsets}
  float acc = 0.0;
${loop}
  return finish(acc, e, m, n);`;
  four = four || "return vec4(finish(acc.x, e, m, n), finish(acc.y, e + 1, m, n + 1), finish(acc.z, e + 2, m, n + 2), finish(acc.w, e + 3, m, n + 3));";
  const helpers = `float finish(float acc, int e, int m, int n) { ${one} }\n${texel ? `vec4 finish4(vec4 acc, int e, int m, int n) { ${four} }` : ""}`;
  // a banded output: the fragment's texels lie one band (q texels, a whole number of rows) apart
  return hoist({ body, texel: texel && !bands, block: bands, period: bands ? g.N / 4 : 0, uniforms, helpers });
}

// Register blocking through `bands` (8, or 4 where the GPU has fewer draw buffers) render
// targets: the same 4 columns n..n+3 of rows m + j * dm, so per 4 values of k, 4 B texels (B's
// columns along K) and 8 A texels feed 128 multiply-adds, where the texel kernel needs 40
// fetches (8 bands measured 10-15% faster than 4 on SwiftShader).
function blockBody(start, bands) {
  const js = Array.from({ length: bands }, (_, j) => j);
  const dots = (j) => `a = A_texel(ta + ${j} * da); acc${j} += vec4(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));`;
  const out = (j) => `  r[${j}] = e + ${4 * j} * q < out_size ? finish4(acc${j}, e + ${4 * j} * q, m + ${j} * dm, n) : vec4(0.0);`;
  return `void compute_block(int t, int q, out vec4 r[${bands}]) {
  int e = t * 4;
  int n = e % N_, m = e / N_, dm = q * 4 / N_;
  int ta = (m * sAm) >> 2, da = (dm * sAm) >> 2, tb = (n * sBn) >> 2, rs = sBn >> 2;
  vec4 a, ${js.map((j) => `acc${j} = ${j ? "acc0" : start}`).join(", ")};
  for (int k = 0; k < K_; k += 4) {
    vec4 b0 = B_texel(tb), b1 = B_texel(tb + rs), b2 = B_texel(tb + 2 * rs), b3 = B_texel(tb + 3 * rs); tb++;
    ${js.map(dots).join("\n    ")}
    ta++;
  }
${js.map(out).join("\n")}
}`;
}

// Row-major strides of `shape`; broadcast batch strides of an operand against the output batch.
const strides = (shape) => shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
function batchStrides(shape, batch) {
  const st = strides(shape);
  return batch.map((_, d) => {
    const k = d - (batch.length - shape.length);
    return k >= 0 && shape[k] !== 1 ? st[k] : 0;
  });
}

// Uniforms become locals copied once at the top of the body: SwiftShader reloads a uniform at
// every use, so a uniform read inside an inner loop costs as much as the loop's arithmetic.
// The GLSL names stay the same (the uniforms are declared as u_<name>).
export function hoist(spec) {
  const uniforms = {}, lines = [];
  for (const [name, [type, value]] of Object.entries(spec.uniforms || {})) {
    uniforms[`u_${name}`] = [type, value];
    lines.push(Array.isArray(value) ? `${type} ${name}[${Math.max(value.length, 1)}] = u_${name};` : `${type} ${name} = u_${name};`);
  }
  const decl = `  ${lines.join(" ")}\n`;
  // texel and block kernels are whole functions: the locals go after their first line
  const body = spec.texel || spec.block ? spec.body.replace(/^.*\{\n/, (head) => head + decl) : decl + spec.body;
  return { ...spec, uniforms, body };
}

export function merge(p, act, extra) {
  return { ...p, helpers: act.helpers + "\n" + (p.helpers || ""), uniforms: { ...p.uniforms, ...act.uniforms, ...(extra || {}) } };
}

export const matmul = {
  ops: ["MatMul"],
  inputNames: ["A", "B"],
  prepare({ inputs, output, attrs }) {
    const [a, b] = inputs;
    const ash = a.shape.length === 1 ? [1, ...a.shape] : a.shape;
    const bsh = b.shape.length === 1 ? [...b.shape, 1] : b.shape;
    const [M, K] = ash.slice(-2), N = bsh[bsh.length - 1];
    const nb = output.shape.length - (a.shape.length > 1) - (b.shape.length > 1);
    const batch = output.shape.slice(0, nb);
    const g = {
      M, N, K, sAm: K, sAk: 1, sBk: N, sBn: 1, batch,
      aStr: batchStrides(ash.slice(0, -2), batch).map((s) => s * M * K),
      bStr: batchStrides(bsh.slice(0, -2), batch).map((s) => s * K * N),
    };
    return merge(product(g, { one: "return act(acc);" }), activation(attrs));
  },
};

export const gemm = {
  ops: ["Gemm"],
  inputNames: ["A", "B", "C"],
  prepare({ inputs, output, attrs }) {
    const [a, , c] = inputs;
    const [M, N] = output.shape;
    const K = attrs.transA ? a.shape[0] : a.shape[1];
    const g = {
      M, N, K, batch: [], aStr: [], bStr: [],
      sAm: attrs.transA ? 1 : K, sAk: attrs.transA ? M : 1, sBk: attrs.transB ? 1 : N, sBn: attrs.transB ? K : 1,
    };
    // beta = 0 must not read C (NaN in C does not leak), so C's term is baked in or out
    const useC = c && attrs.beta !== 0;
    const epi = useC ? "int cc[2] = int[2](m, n); return act(alpha * acc + beta * C_bcast(cc));" : "return act(alpha * acc);";
    return merge(product(g, { one: epi }), activation(attrs), { alpha: ["float", attrs.alpha ?? 1], beta: ["float", attrs.beta ?? 1] });
  },
};
