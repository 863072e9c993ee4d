// Data movement: every output element is one input element (or a pad value), found from the
// output coordinate. Offsets, strides and pads are int uniforms, so one program serves every
// size of a given rank; only modes (Pad's, DepthToSpace's) change the source.

const rankOf = (r) => Math.max(r, 1);
const norm = (a, r) => (a < 0 ? a + r : a);
const given = (v) => (v && v.length ? v : null); // an empty host list means "omitted"

// Row-major strides of a shape.
export function strides(shape) {
  const s = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

// A strided view of X: element base + sum(c[k] * vstride[k]) (Transpose, Slice, Split). A texel
// kernel: the texel's first element is decomposed into coordinates once, the next 3 step along
// the last dim (carrying into the one before), and only a carry past that decomposes again, so
// an NCHW -> NHWC image transpose (3 channels) does not divide 4 times per texel.
function view(rank, base, vstride) {
  const R = rankOf(rank), L = R - 1;
  const index = `j = base; for (int d = 0; d < ${R}; d++) j += c[d] * vstride[d];`;
  const carry = L > 0
    ? `c[${L}] = 0; c[${L - 1}]++; j += vstride[${L - 1}] - out_shape[${L}] * vstride[${L}];
        if (c[${L - 1}] == out_shape[${L - 1}]) { out_coords(e + k, c); ${index} }`
    : "";
  return {
    uniforms: { base: ["int", base], vstride: ["int", vstride.length ? vstride : [0]] },
    texel: true,
    body: `vec4 compute_texel(int t) {
  int e = t * 4, c[${R}], j;
  out_coords(e, c);
  ${index}
  vec4 r = vec4(0.0);
  for (int k = 0; k < 4 && e + k < out_size; k++) {
    if (k > 0) {
      c[${L}]++; j += vstride[${L}];
      if (c[${L}] == out_shape[${L}]) {
        ${carry}
      }
    }
    r[k] = X_flat(j);
  }
  return r;
}`,
  };
}

// Ops that keep the row-major order: a texel-for-texel copy. (They could alias their input
// and run no pass at all; that is a planner-level optimization.)
export const COPY = { texel: true, body: "vec4 compute_texel(int t) { return X_texel(t); }" };

export const copy = {
  ops: ["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"],
  inputNames: ["X"],
  prepare: () => COPY,
};

export const transpose = {
  ops: ["Transpose"],
  inputNames: ["X"],
  prepare({ inputs, attrs }) {
    const shape = inputs[0].shape, st = strides(shape);
    const perm = attrs.perm ?? shape.map((_, k) => shape.length - 1 - k);
    return view(shape.length, 0, perm.map((p) => st[norm(p, shape.length)]));
  },
};

// Python's slice.indices: where a slice of `dim` elements really starts.
function sliceStart(start, dim, step) {
  if (start < 0) start += dim;
  return step > 0 ? Math.min(Math.max(start, 0), dim) : Math.min(Math.max(start, -1), dim - 1);
}

export const slice = {
  ops: ["Slice"],
  inputNames: ["X"],
  prepare({ inputs, attrs }) {
    const shape = inputs[0].shape, st = strides(shape), r = shape.length;
    const axes = given(attrs.axes) ?? attrs.starts.map((_, k) => k), steps = given(attrs.steps);
    const vstride = [...st];
    let base = 0;
    axes.forEach((a, k) => {
      a = norm(a, r);
      // |step| >= dim leaves one element, so clamping it keeps the stride an int32
      const step = Math.max(-shape[a], Math.min(shape[a], steps ? steps[k] : 1)) || 1;
      base += sliceStart(attrs.starts[k], shape[a], step) * st[a];
      vstride[a] = st[a] * step;
    });
    return view(r, base, vstride);
  },
};

// One program per output: piece k starts where the pieces before it end.
export const split = {
  ops: ["Split"],
  inputNames: ["X"],
  prepare({ inputs, attrs, outputIndex }) {
    const shape = inputs[0].shape, st = strides(shape), a = norm(attrs.axis ?? 0, shape.length);
    let sizes = given(attrs.split);
    if (!sizes) {
      const n = attrs.num_outputs, chunk = Math.ceil(shape[a] / n);
      sizes = Array.from({ length: n }, (_, k) => (k < n - 1 ? chunk : shape[a] - chunk * (n - 1)));
    }
    const offset = sizes.slice(0, outputIndex).reduce((x, y) => x + y, 0);
    return view(shape.length, offset * st[a], st);
  },
};

// Flat arithmetic over [outer, axis, inner]: output element i sits at axis position a and
// reads the input whose range [end_{k-1}, end_k) holds a.
export const concat = {
  ops: ["Concat"],
  prepare({ inputs, output, attrs }) {
    if (inputs.length > 16) {
      throw new Error(`Concat of ${inputs.length} inputs: a WebGL2 draw reads at most 16 textures (nest Concats of <= 16)`);
    }
    const shape = output.shape, a = norm(attrs.axis, shape.length);
    const inner = shape.slice(a + 1).reduce((x, y) => x * y, 1);
    const ends = [];
    inputs.reduce((e, t) => (ends.push(e + t.shape[a]), e + t.shape[a]), 0);
    const names = inputs.map((_, k) => `X${k}`);
    const picks = names.map((n, k) => {
      const start = k ? `ends[${k - 1}]` : "0";
      return `  if (a < ends[${k}]) return ${n}_flat((o * (ends[${k}] - ${start}) + a - ${start}) * inner + r);`;
    });
    return {
      inputNames: names,
      uniforms: { inner: ["int", inner], len: ["int", shape[a]], ends: ["int", ends] },
      body: `  int r = i % inner, a = (i / inner) % len, o = i / (inner * len);\n${picks.join("\n")}\n  return 0.0;`,
    };
  },
};

export const gather = {
  ops: ["Gather"],
  inputNames: ["X", "I"],
  prepare({ inputs, attrs }) {
    const shape = inputs[0].shape, a = norm(attrs.axis ?? 0, shape.length);
    const inner = shape.slice(a + 1).reduce((x, y) => x * y, 1);
    return {
      uniforms: { inner: ["int", inner], nind: ["int", inputs[1].size], dim: ["int", shape[a]] },
      body: `  int r = i % inner, j = (i / inner) % nind, o = i / (inner * nind);
  int v = int(I_flat(j));
  if (v < 0) v += dim;
  return X_flat((o * dim + v) * inner + r);`,
    };
  },
};

// The output has the indices' shape: element i reads X at c with c[axis] = indices[i].
export const gatherElements = {
  ops: ["GatherElements"],
  inputNames: ["X", "I"],
  prepare({ inputs, attrs }) {
    const shape = inputs[0].shape, a = norm(attrs.axis ?? 0, shape.length), st = strides(shape);
    const dstride = st.map((s, k) => (k === a ? 0 : s));
    return {
      uniforms: { dstride: ["int", dstride], astride: ["int", st[a]], dim: ["int", shape[a]] },
      body: `  int v = int(I_flat(i));
  if (v < 0) v += dim;
  int j = v * astride;
  for (int k = 0; k < ${rankOf(shape.length)}; k++) j += c[k] * dstride[k];
  return X_flat(j);`,
    };
  },
};

export const expand = {
  ops: ["Expand"],
  inputNames: ["X"],
  prepare: () => ({ body: "  return X_bcast(c);" }),
};

export const tile = {
  ops: ["Tile"],
  inputNames: ["X"],
  prepare: ({ output }) => ({
    body: `  for (int k = 0; k < ${rankOf(output.shape.length)}; k++) c[k] %= X_shape[k];\n  return X_at(c);`,
  }),
};

// Pad crops first (negative pads), then grows: coordinate u in the cropped axis [lo, lo + kept)
// is c - grow; outside it the mode decides. GLSL's % is undefined for negatives, hence posmod.
const PAD_OUTSIDE = {
  constant: "return value;",
  edge: "u = clamp(u, 0, kept[k] - 1);",
  wrap: "u = posmod(u, kept[k]);",
  reflect: "int p = max(2 * kept[k] - 2, 1); u = posmod(u, p); if (u >= kept[k]) u = p - u;",
};

export const pad = {
  ops: ["Pad"],
  inputNames: ["X"],
  prepare({ inputs, attrs }) {
    const shape = inputs[0].shape, r = shape.length, mode = attrs.mode ?? "constant";
    if (!PAD_OUTSIDE[mode]) throw new Error(`Pad: mode=${mode} has no WebGL kernel`);
    const axes = (given(attrs.axes) ?? shape.map((_, k) => k)).map((a) => norm(a, r));
    const pads = attrs.pads, n = axes.length;
    const begin = new Array(r).fill(0), end = new Array(r).fill(0);
    axes.forEach((a, k) => ((begin[a] = pads[k]), (end[a] = pads[n + k])));
    const lo = begin.map((b) => Math.max(-b, 0));
    const kept = shape.map((d, k) => d - lo[k] - Math.max(-end[k], 0));
    const cv = given(attrs.constant_value)?.[0] ?? 0;
    const value = inputs[0].dtype === "bool" ? Number(cv !== 0) : isIntType(inputs[0].dtype) ? Math.trunc(cv) : cv;
    const R = rankOf(r);
    return {
      uniforms: { grow: ["int", begin.map((b) => Math.max(b, 0))], lo: ["int", lo], kept: ["int", kept], value: ["float", value] },
      helpers: "int posmod(int u, int n) { return u >= 0 ? u % n : n - 1 - (-u - 1) % n; }",
      body: `  for (int k = 0; k < ${R}; k++) {
    int u = c[k] - grow[k];
    if (u < 0 || u >= kept[k]) { ${PAD_OUTSIDE[mode]} }
    c[k] = lo[k] + u;
  }
  return X_at(c);`,
    };
  },
};

const isIntType = (dtype) => !dtype.startsWith("float") && dtype !== "bool";

// NCHW block moves. b = blocksize; C' = the smaller channel count.
export const depthToSpace = {
  ops: ["DepthToSpace"],
  inputNames: ["X"],
  prepare({ attrs }) {
    const channel = (attrs.mode ?? "DCR") === "DCR" ? "(bh * b + bw) * out_shape[1] + c[1]" : "(c[1] * b + bh) * b + bw";
    return {
      uniforms: { b: ["int", attrs.blocksize] },
      body: `  int bh = c[2] % b, bw = c[3] % b;
  int d[4] = int[4](c[0], ${channel}, c[2] / b, c[3] / b);
  return X_at(d);`,
    };
  },
};

export const spaceToDepth = {
  ops: ["SpaceToDepth"],
  inputNames: ["X"],
  prepare({ attrs }) {
    // DCR: output channel = (bh * b + bw) * C + ci; CRD: (ci * b + bh) * b + bw
    const split = (attrs.mode ?? "DCR") === "DCR"
      ? "int C = X_shape[1], ci = c[1] % C, bw = (c[1] / C) % b, bh = c[1] / (C * b);"
      : "int ci = c[1] / (b * b), bh = (c[1] / b) % b, bw = c[1] % b;";
    return {
      uniforms: { b: ["int", attrs.blocksize] },
      body: `  ${split}
  int d[4] = int[4](c[0], ci, c[2] * b + bh, c[3] * b + bw);
  return X_at(d);`,
    };
  },
};

export const trilu = {
  ops: ["Trilu"],
  inputNames: ["X"],
  prepare({ inputs, attrs }) {
    const r = inputs[0].shape.length;
    return {
      uniforms: { k: ["int", Math.max(-(2 ** 30), Math.min(2 ** 30, given(attrs.k)?.[0] ?? 0))], upper: ["int", attrs.upper ?? 1] },
      body: `  int diag = c[${r - 1}] - c[${r - 2}];
  return (upper == 1 ? diag >= k : diag <= k) ? X_flat(i) : 0.0;`,
    };
  },
};
