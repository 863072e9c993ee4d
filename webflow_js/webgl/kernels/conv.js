// Conv and ConvTranspose, any spatial rank, channels-first (NCHW) or channels-last (NHWC).
// Weights stay in ONNX layout: Conv W [M, C/group, k...], ConvTranspose W [C, M/group, k...].
//
// On SwiftShader every texture fetch costs far more than arithmetic, so the fast paths are
// about fetching whole texels and reusing them:
//   pointwise (1x1, stride 1, no pads, group 1)  -> the matmul kernel of linalg.js
//   NHWC depthwise, C % 4 == 0                   -> 4 channels of a pixel per fragment
//   NHWC, M/group % 4 == 0, few input channels   -> the same, all the fragment's weights loaded once
//   NHWC, M/group % 4 == 0                       -> 4 output channels per fragment; input
//       channels in vec4 steps, with that 4x4 block's weights for every tap loaded once
// Where the backend allows a banded output (textures.js), the NHWC pointwise and few-channel
// kernels are register-blocked: a fragment writes 4 pixels' texels of the same channels through
// 4 render targets, fetching the weights once for the 4. Depthwise is not: its 4 pixels a band
// apart share no input fetches, so blocking saved 2% of MobileNetV2's warm time on SwiftShader
// while its 4 unrolled copies of the taps cost 40% more first-inference compile time.
//   NCHW 2-D, output width % 4 == 0              -> 4 neighbouring output x per fragment,
//       sharing each fetched input (and weight) between the 4
//   NCHW 2-D depthwise, other widths             -> 4 consecutive outputs per fragment,
//       sharing the weights
//   anything else                                -> one output element per invocation
// Kernel sizes are baked into the unrolled paths only (and the channel count into the few-channel
// one); everything else is a uniform.
// A fused residual Z (the output's shape and layout) is added after the bias, before the
// activation: its texel t (or element i) is the output's own.

import { activation, hoist, merge, product } from "./linalg.js";

const ones = (n) => new Array(n).fill(1);
const prod = (a) => a.reduce((x, y) => x * y, 1);
const strides = (shape) => shape.map((_, d) => prod(shape.slice(d + 1)));

// Begin and end pads of a sliding window (webflow_py/ops/common.py `window`, same arithmetic):
// the planner passes auto_pad unresolved.
export function windowPads(sizes, kernel, st, dil, pads, autoPad = "NOTSET") {
  const n = sizes.length, begin = [], end = [];
  sizes.forEach((size, i) => {
    let head = 0, tail = 0;
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      const total = Math.max(0, (Math.ceil(size / st[i]) - 1) * st[i] + (kernel[i] - 1) * dil[i] + 1 - size);
      head = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : total - Math.floor(total / 2);
      tail = total - head;
    } else if (autoPad !== "VALID" && pads && pads.length) {
      [head, tail] = [pads[i], pads[n + i]];
    }
    begin.push(head);
    end.push(tail);
  });
  return { begin, end };
}

// Begin pads of ConvTranspose (common.py `transposed_window`); its end pads only decide the
// output size, which the output shape already says.
function transposedPads(sizes, kernel, st, dil, attrs) {
  const n = sizes.length, op = attrs.output_padding && attrs.output_padding.length ? attrs.output_padding : ones(n).fill(0);
  const shape = attrs.output_shape && attrs.output_shape.length ? attrs.output_shape.slice(-n) : null;
  const same = attrs.auto_pad === "SAME_UPPER" || attrs.auto_pad === "SAME_LOWER";
  return sizes.map((size, i) => {
    if (shape || same) {
      const total = st[i] * (size - 1) + op[i] + (kernel[i] - 1) * dil[i] + 1 - (shape ? shape[i] : size * st[i]);
      if (total < 0) return 0;
      return attrs.auto_pad === "SAME_UPPER" ? Math.floor(total / 2) : total - Math.floor(total / 2);
    }
    return attrs.auto_pad === "VALID" || !attrs.pads || !attrs.pads.length ? 0 : attrs.pads[i];
  });
}

// Where N, C and the spatial dims of a tensor sit, and their element strides.
export function layoutOf(shape, nhwc) {
  const r = shape.length, sizes = nhwc ? shape.slice(1, r - 1) : shape.slice(2), c = nhwc ? shape[r - 1] : shape[1];
  const sp = strides(sizes).map((s) => (nhwc ? s * c : s));
  return { n: shape[0], c, sizes, sN: prod(sizes) * c, sC: nhwc ? 1 : prod(sizes), sp };
}

// GLSL of the output coordinates of element coords c[]: n, m (channel) and o<d> (spatial).
function elementCoords(R, nhwc) {
  const o = Array.from({ length: R }, (_, d) => `int o${d} = c[${nhwc ? 1 + d : 2 + d}];`).join(" ");
  return `int n = c[0], m = c[${nhwc ? R + 1 : 1}]; ${o}`;
}

// The general kernel: one output element, taps outer (bounds tested once), channels inner.
function generic(geo, transposed) {
  const R = geo.R;
  let open = "", close = "", xoff = "xo", woff = "wo";
  for (let d = 0; d < R; d++) {
    const pos = transposed
      ? `int t${d} = o${d} + pad[${d}] - k${d} * dil[${d}]; if (t${d} < 0 || t${d} % str[${d}] != 0) continue;
    int i${d} = t${d} / str[${d}]; if (i${d} >= xsz[${d}]) continue;`
      : `int i${d} = o${d} * str[${d}] + k${d} * dil[${d}] - pad[${d}]; if (i${d} < 0 || i${d} >= xsz[${d}]) continue;`;
    open += `  for (int k${d} = 0; k${d} < kern[${d}]; k${d}++) {\n    ${pos}\n`;
    close += "  }\n";
    xoff += ` + i${d} * xst[${d}]`;
    woff += ` + k${d} * kst[${d}]`;
  }
  // Conv: W[m, ci, taps]; ConvTranspose: W[g * Cg + ci, m % Mg, taps]
  const wo = transposed ? "(grp * Cg * Mg + m % Mg) * T" : "m * Cg * T";
  const body = `  ${elementCoords(R, geo.nhwc)}
  int grp = m / Mg, xo = n * xsN + grp * Cg * xsC, wo = ${wo};
  float acc = 0.0;
${open}    int xi = ${xoff}, wi = ${woff};
    for (int ci = 0; ci < Cg; ci++) { acc += X_flat(xi) * W_flat(wi); xi += xsC; wi += wsC; }
${close}  return act(acc${geo.bias ? " + B_flat(m)" : ""}${geo.residual ? " + Z_flat(i)" : ""});`;
  return { body, uniforms: { wsC: ["int", transposed ? geo.Mg * geo.T : geo.T] } };
}

// Texel kernels start from the output texel's first element e = 4t (as coords of the output).
const texelStart = "  int e = t * 4;\n  if (e >= out_size) return vec4(0.0);\n";
const finish = (bias, residual, to = "return") =>
  `${bias ? `  acc += ${bias};` : ""}${residual ? ` acc += Z_texel(${residual});` : ""}\n  ${to} vec4(act(acc.x), act(acc.y), act(acc.z), act(acc.w));`;

// An NHWC kernel whose weights depend only on the output channels m..m+3: `weights(m)` loads
// them, `pixel()` sums texel t's `acc` from them (after the coordinates e, m, n, ...). As a
// texel kernel, or (banded) as a block kernel through 4 render targets: 4 texels one band apart
// are 4 pixels with the same channels, so the weights are loaded once for 4 outputs.
function weightsOnce(geo, coords, weights, pixel, banded) {
  const bias = geo.bias && "B_texel(m >> 2)";
  if (!banded) {
    return { body: `vec4 compute_texel(int t) {\n${texelStart}${coords}${weights("m")}\n${pixel()}\n${finish(bias, geo.residual && "t")}\n}`, texel: true };
  }
  const one = (j) => `  {
    int t = tb + ${j} * q, e = t * 4;
    res[${j}] = vec4(0.0);
    if (e < out_size) {
${coords}${pixel()}
${finish(geo.bias && "bias", geo.residual && "t", `res[${j}] =`)}
    }
  }`;
  const body = `void compute_block(int tb, int q, out vec4 res[4]) {
  int mw = (tb * 4) % M_;
${weights("mw")}${geo.bias ? "\n  vec4 bias = B_texel(mw >> 2);" : ""}
${[0, 1, 2, 3].map(one).join("\n")}
}`;
  return { body, block: 4, period: geo.M / 4 };
}

// NHWC: output texel = channels m..m+3 of one pixel. Per tap (unrolled, kernel baked): its
// input offset and whether it lies inside the input.
function nhwcTaps(geo) {
  const R = geo.R, kernel = geo.kernel;
  let s = "  int m = e % M_, r = e / M_;\n";
  for (let d = R - 1; d >= 0; d--) s += `  int o${d} = r % osz[${d}]; r /= osz[${d}];\n`;
  s += "  int n = r;\n";
  for (let d = 0; d < R; d++) {
    s += `  int b${d} = o${d} * str[${d}] - pad[${d}];\n`;
    for (let k = 0; k < kernel[d]; k++) s += `  int i${d}_${k} = b${d} + ${k} * dil[${d}]; bool v${d}_${k} = i${d}_${k} >= 0 && i${d}_${k} < xsz[${d}];\n`;
  }
  const taps = Array.from({ length: geo.T }, (_, tp) => tp);
  for (const tp of taps) {
    let rem = tp;
    const ks = kernel.map((_, d) => {
      const k = Math.floor(rem / prod(kernel.slice(d + 1)));
      rem %= prod(kernel.slice(d + 1));
      return k;
    });
    s += `  int x${tp} = ${ks.map((k, d) => `i${d}_${k} * xst[${d}]`).join(" + ")}; bool ok${tp} = ${ks.map((k, d) => `v${d}_${k}`).join(" && ")};\n`;
  }
  return { coords: s, taps };
}

// Component `i` of a preloaded weight block `w` (vec4 array), as GLSL.
const comp = (w, i) => `${w}[${i >> 2}].${"xyzw"[i & 3]}`;

function nhwcDepthwise(geo) {
  const { coords, taps } = nhwcTaps(geo), T = geo.T;
  const lines = taps.map((tp) => `  if (ok${tp}) acc += X_texel((xb + x${tp}) >> 2) * vec4(${[0, 1, 2, 3].map((j) => comp("w", j * T + tp)).join(", ")});`);
  // W[m..m+3, 0, taps]: 4T floats in a row
  const weights = (m) => `  vec4 w[${T}];
  int w0 = (${m} * ${T}) >> 2;
${Array.from({ length: T }, (_, q) => `  w[${q}] = W_texel(w0 + ${q});`).join("\n")}`;
  const pixel = () => `  int xb = n * xsN + m;
  vec4 acc = vec4(0.0);
${lines.join("\n")}`;
  return weightsOnce(geo, coords, weights, pixel, false);
}

// Few input channels (a first layer): W[m..m+3] whole is Cg*T texels, loaded once; the channel
// count is baked, as everything is unrolled.
function nhwcFewChannels(geo, banded) {
  const { coords, taps } = nhwcTaps(geo), T = geo.T, Cg = geo.Cg, CgT = Cg * T;
  const lines = taps.map((tp) => {
    const chans = Array.from({ length: Cg }, (_, ci) =>
      `acc += X_flat(xb + ${ci} + x${tp}) * vec4(${[0, 1, 2, 3].map((j) => comp("w", j * CgT + ci * T + tp)).join(", ")});`);
    return `  if (ok${tp}) { ${chans.join(" ")} }`;
  });
  const weights = (m) => `  vec4 w[${CgT}];
  int w0 = (${m} * ${CgT}) >> 2;
${Array.from({ length: CgT }, (_, q) => `  w[${q}] = W_texel(w0 + ${q});`).join("\n")}`;
  const pixel = () => `  int xb = n * xsN + (m / Mg) * Cg;
  vec4 acc = vec4(0.0);
${lines.join("\n")}`;
  return weightsOnce(geo, coords, weights, pixel, banded);
}

function nhwcBlocked(geo) {
  const { coords, taps } = nhwcTaps(geo), T = geo.T, vec = geo.Cg % 4 === 0;
  let loop;
  if (vec) {
    // W[m+j, ci..ci+3, taps] is 4T floats in a row (aligned, as Cg % 4 == 0): T texels per j
    const load = [0, 1, 2, 3].map((j) => `    int t${j} = (wb + ${j} * CgT + ci * ${T}) >> 2;\n` +
      Array.from({ length: T }, (_, q) => `    w${j}[${q}] = W_texel(t${j} + ${q});`).join("\n")).join("\n");
    const dots = taps.map((tp) => {
      const col = (j) => `vec4(${[0, 1, 2, 3].map((q) => comp(`w${j}`, q * T + tp)).join(", ")})`;
      return `    if (ok${tp}) { vec4 x = X_texel((xb + ci + x${tp}) >> 2); acc += vec4(${[0, 1, 2, 3].map((j) => `dot(x, ${col(j)})`).join(", ")}); }`;
    });
    loop = `  vec4 w0[${T}], w1[${T}], w2[${T}], w3[${T}];
  for (int ci = 0; ci < Cg; ci += 4) {
${load}
${dots.join("\n")}
  }`;
  } else {
    const lines = taps.map((tp) => `    if (ok${tp}) { int o = wi + ${tp}; acc += X_flat(xb + ci + x${tp}) * vec4(W_flat(o), W_flat(o + CgT), W_flat(o + 2 * CgT), W_flat(o + 3 * CgT)); }`);
    loop = `  for (int ci = 0; ci < Cg; ci++) {
    int wi = wb + ci * ${T};
${lines.join("\n")}
  }`;
  }
  const body = `vec4 compute_texel(int t) {
${texelStart}${coords}  int xb = n * xsN + (m / Mg) * Cg, wb = m * CgT;
  vec4 acc = vec4(0.0);
${loop}
${finish(geo.bias ? "B_texel(m >> 2)" : "vec4(0.0)", geo.residual && "t")}
}`;
  return { body, texel: true, uniforms: { CgT: ["int", geo.Cg * T] } };
}

// NCHW 2-D: output texel = x positions ox..ox+3 of one output row. With stride and dilation 1
// the 4 windows overlap, so each (channel, kernel row) fetches 3 + kW inputs instead of 4 kW.
function nchwRow(geo) {
  const kW = geo.kernel[1], unit = geo.strides[1] === 1 && geo.dilations[1] === 1;
  let pre = "", taps = "";
  const xs = (q) => `v${q}`;
  if (unit) {
    for (let q = 0; q < kW + 3; q++) pre += `  bool ok${q} = ix + ${q} >= 0 && ix + ${q} < xsz[1];\n`;
    const loads = Array.from({ length: kW + 3 }, (_, q) => `float v${q} = ok${q} ? X_flat(xi + ${q}) : 0.0;`).join(" ");
    const fmas = Array.from({ length: kW }, (_, k) => `acc += W_flat(wi + ${k}) * vec4(${[0, 1, 2, 3].map((j) => xs(j + k)).join(", ")});`);
    taps = `      ${loads}\n      ${fmas.join("\n      ")}`;
  } else {
    for (let k = 0; k < kW; k++) {
      for (let j = 0; j < 4; j++) pre += `  int d${k}_${j} = ix + ${j} * str[1] + ${k} * dil[1]; bool ok${k}_${j} = d${k}_${j} >= 0 && d${k}_${j} < xsz[1]; d${k}_${j} -= ix;\n`;
    }
    taps = Array.from({ length: kW }, (_, k) => {
      const x = [0, 1, 2, 3].map((j) => `ok${k}_${j} ? X_flat(xi + d${k}_${j}) : 0.0`).join(", ");
      return `      acc += W_flat(wi + ${k}) * vec4(${x});`;
    }).join("\n");
  }
  const body = `vec4 compute_texel(int t) {
${texelStart}  int ox = e % osz[1], r = e / osz[1], oy = r % osz[0]; r /= osz[0];
  int m = r % M_, n = r / M_;
  int ix = ox * str[1] - pad[1];
${pre}  int xn = n * xsN + (m / Mg) * Cg * xsC, wm = m * Cg * T;
  vec4 acc = vec4(0.0);
  for (int kh = 0; kh < kern[0]; kh++) {
    int iy = oy * str[0] + kh * dil[0] - pad[0];
    if (iy < 0 || iy >= xsz[0]) continue;
    int xi = xn + iy * xst[0] + ix, wi = wm + kh * ${kW};
    for (int ci = 0; ci < Cg; ci++) {
${taps}
      xi += xsC; wi += T;
    }
  }
${finish(geo.bias ? "vec4(B_flat(m))" : "vec4(0.0)", geo.residual && "t")}
}`;
  return { body, texel: true };
}

// NCHW 2-D depthwise, any output width: output texel = 4 consecutive positions of a channel
// plane, which may wrap to the next row or (plane size % 4 != 0) into the next plane. The
// weights of the texel's (at most two) channels are fetched once, not once per output.
function nchwDepthwise(geo) {
  const T = geo.T, kW = geo.kernel[1], wrap = prod(geo.Y.sizes) % 4 !== 0;
  const load = (arr, ch) => Array.from({ length: T }, (_, q) => `  float ${arr}${q} = W_flat(${ch} * ${T} + ${q});`).join("\n");
  const lanes = [0, 1, 2, 3].map((j) => {
    const taps = Array.from({ length: T }, (_, tp) => {
      const kh = Math.floor(tp / kW), kw = tp % kW;
      const w = wrap ? `(next ? wb${tp} : wa${tp})` : `wa${tp}`;
      return `    { int iy = iy0 + ${kh} * dil[0], ix = ix0 + ${kw} * dil[1];
      if (iy >= 0 && iy < xsz[0] && ix >= 0 && ix < xsz[1]) acc[${j}] += X_flat(xb + iy * xst[0] + ix) * ${w}; }`;
    });
    return `  {
    int p = p0 + ${j}, m = m0, n = n0;
    bool next = p >= P;
    if (next) { p -= P; m++; if (m == M_) { m = 0; n++; } }
    int oy = p / osz[1], ox = p - oy * osz[1];
    int iy0 = oy * str[0] - pad[0], ix0 = ox * str[1] - pad[1], xb = n * xsN + m * xsC;
${taps.join("\n")}
    ${geo.bias ? `acc[${j}] += ${wrap ? "next ? B_flat(m) : bias" : "bias"};` : ""}
  }`;
  });
  const body = `vec4 compute_texel(int t) {
${texelStart}  int P = osz[0] * osz[1];
  int p0 = e % P, r = e / P, m0 = r % M_, n0 = r / M_;
${load("wa", "m0")}
${wrap ? load("wb", "((m0 + 1) % M_)") : ""}
  ${geo.bias ? "float bias = B_flat(m0);" : ""}
  vec4 acc = vec4(0.0);
${lanes.join("\n")}
${geo.residual ? "  acc += Z_texel(t);" : ""}
  return vec4(act(acc.x), act(acc.y), act(acc.z), act(acc.w));
}`;
  return { body, texel: true };
}

// Everything a conv kernel needs to know, from the tensors and the attributes.
function geometry(inputs, output, attrs, transposed) {
  const [x, w, b, z] = inputs;
  const nhwc = attrs.layout === "NHWC";
  const X = layoutOf(x.shape, nhwc), Y = layoutOf(output.shape, nhwc);
  const R = X.sizes.length, kernel = w.shape.slice(2), group = attrs.group || 1;
  const st = attrs.strides && attrs.strides.length ? attrs.strides : ones(R);
  const dil = attrs.dilations && attrs.dilations.length ? attrs.dilations : ones(R);
  const pads = transposed ? { begin: transposedPads(X.sizes, kernel, st, dil, attrs), end: ones(R).fill(0) } : windowPads(X.sizes, kernel, st, dil, attrs.pads, attrs.auto_pad);
  return {
    nhwc, R, kernel, strides: st, dilations: dil, pads, X, Y, bias: !!b, residual: !!z, group,
    T: prod(kernel), Cg: X.c / group, Mg: Y.c / group, M: Y.c,
  };
}

function uniformsOf(geo) {
  return {
    M_: ["int", geo.M], Cg: ["int", geo.Cg], Mg: ["int", geo.Mg], T: ["int", geo.T],
    xsN: ["int", geo.X.sN], xsC: ["int", geo.X.sC], xsz: ["int", geo.X.sizes], xst: ["int", geo.X.sp], osz: ["int", geo.Y.sizes],
    kern: ["int", geo.kernel], kst: ["int", strides(geo.kernel)], str: ["int", geo.strides], dil: ["int", geo.dilations], pad: ["int", geo.pads.begin],
  };
}

// 1x1, stride 1, unpadded, one group: a matrix product, channels being K.
function pointwise(geo, banded) {
  const P = prod(geo.Y.sizes), C = geo.X.c, M = geo.M;
  if (geo.nhwc) {
    const g = { M: geo.Y.n * P, N: M, K: C, sAm: C, sAk: 1, sBk: 1, sBn: C, batch: [], aStr: [], bStr: [] };
    const one = `return act(acc${geo.bias ? " + C_flat(n)" : ""}${geo.residual ? " + Z_flat(e)" : ""});`;
    const four = finish(null, geo.residual && "e >> 2"), start = geo.bias ? "C_texel(n >> 2)" : undefined;
    return { ...product(g, { one, four, start }, banded), inputNames: ["A", "B", "C", "Z"] };
  }
  const g = { M, N: P, K: C, sAm: C, sAk: 1, sBk: P, sBn: 1, batch: [geo.Y.n], aStr: [0], bStr: [C * P] };
  const one = `return act(acc${geo.bias ? " + C_flat(m)" : ""}${geo.residual ? " + Z_flat(e)" : ""});`;
  const four = finish(null, geo.residual && "e >> 2"), start = geo.bias ? "vec4(C_flat(m))" : undefined;
  return { ...product(g, { one, four, start }), inputNames: ["B", "A", "C", "Z"] };
}

const MAX_UNROLLED_TAPS = 25;
const MAX_SMALL_BLOCK = 36; // texels of weights one fragment keeps when the input has few channels

export const conv = {
  ops: ["Conv"],
  inputNames: ["X", "W", "B", "Z"],
  prepare({ inputs, output, attrs, banded }) {
    const geo = geometry(inputs, output, attrs, false);
    const act = activation(attrs);
    const flat = (a) => a.every((v) => v === 0);
    if (geo.group === 1 && geo.T === 1 && geo.strides.every((s) => s === 1) && flat(geo.pads.begin) && flat(geo.pads.end)) {
      return merge(pointwise(geo, banded), act);
    }
    let spec;
    const nhwc = geo.nhwc && geo.T <= MAX_UNROLLED_TAPS;
    if (nhwc && geo.Cg === 1 && geo.Mg === 1 && geo.M % 4 === 0) spec = nhwcDepthwise(geo);
    else if (nhwc && geo.Mg % 4 === 0 && geo.Cg % 4 !== 0 && geo.Cg * geo.T <= MAX_SMALL_BLOCK) spec = nhwcFewChannels(geo, banded);
    else if (nhwc && geo.Mg % 4 === 0) spec = nhwcBlocked(geo);
    else if (!geo.nhwc && geo.R === 2 && geo.Y.sizes[1] % 4 === 0 && geo.kernel[1] <= 16) spec = nchwRow(geo);
    else if (!geo.nhwc && geo.R === 2 && geo.Cg === 1 && geo.Mg === 1 && geo.T <= MAX_UNROLLED_TAPS) spec = nchwDepthwise(geo);
    else spec = generic(geo, false);
    return merge(hoist({ ...spec, uniforms: { ...uniformsOf(geo), ...(spec.uniforms || {}) } }), act);
  },
};

export const convTranspose = {
  ops: ["ConvTranspose"],
  inputNames: ["X", "W", "B"],
  prepare({ inputs, output, attrs }) {
    const geo = geometry(inputs, output, attrs, true);
    const spec = generic(geo, true);
    return merge(hoist({ ...spec, uniforms: { ...uniformsOf(geo), ...spec.uniforms } }), activation(attrs));
  },
};
