// Resize in one pass over all resized axes (the reference does them one after another; the
// weights multiply, so the result is the same). Per axis: output position -> source
// coordinate (float32, in the reference's order of operations, so nearest ties fall the same
// way) -> taps. Modes and the tap count are baked in; scales, widths and roi are uniforms.

const norm = (a, r) => (a < 0 ? a + r : a);
const f32 = Math.fround;
const listOrNull = (v) => (v && v.length ? v : null);

// Per resized axis (as webflow_py/ops/resize.py's _plan): {a, scale, width, start, end}.
function resizedAxes(shape, outShape, attrs, ctm) {
  const r = shape.length;
  const axes = (attrs.axes ?? shape.map((_, k) => k)).map((a) => norm(a, r));
  const scales = listOrNull(attrs.scales), sizes = listOrNull(attrs.sizes);
  const roi = listOrNull(attrs.roi) ?? [...axes.map(() => 0), ...axes.map(() => 1)];
  const policy = attrs.keep_aspect_ratio_policy ?? "stretch";
  let sc, widths;
  if (scales) {
    [sc, widths] = [scales, axes.map((a, i) => shape[a] * scales[i])];
  } else if (policy === "stretch") {
    [sc, widths] = [axes.map((a, i) => (shape[a] > 0 ? sizes[i] / shape[a] : 1)), sizes];
  } else {
    const ratios = axes.map((a, i) => sizes[i] / shape[a]);
    const s = policy === "not_larger" ? Math.min(...ratios) : Math.max(...ratios);
    [sc, widths] = [axes.map(() => s), axes.map((a) => s * shape[a])];
  }
  return axes
    .map((a, i) => ({ a, n: outShape[a], len: shape[a], scale: sc[i], width: widths[i], start: roi[i], end: roi[i + axes.length] }))
    .filter((p) => !(p.n === p.len && p.scale === 1 && (ctm !== "tf_crop_and_resize" || (p.start === 0 && p.end === 1))));
}

// GLSL source coordinate of output position y along one axis (len: input length, n: output).
const SOURCE = {
  half_pixel: "(y + 0.5) / scale - 0.5",
  half_pixel_symmetric: "offset + (y + 0.5) / scale - 0.5",
  pytorch_half_pixel: "n == 1 ? 0.0 : (y + 0.5) / scale - 0.5",
  asymmetric: "y / scale",
  align_corners: "n == 1 ? 0.0 : y * (len - 1.0) / (width - 1.0)",
  tf_crop_and_resize: "n == 1 ? 0.5 * (start + end) * (len - 1.0) : start * (len - 1.0) + y * (end - start) * (len - 1.0) / (width - 1.0)",
};
const NEAREST = { round_prefer_floor: "ceil(x - 0.5)", round_prefer_ceil: "floor(x + 0.5)", floor: "floor(x)", ceil: "ceil(x)" };
const FILTER = {
  linear: "max(1.0 - abs(d), 0.0)",
  cubic: "abs(d) <= 1.0 ? ((ca + 2.0) * abs(d) - (ca + 3.0)) * d * d + 1.0 : abs(d) < 2.0 ? ((ca * abs(d) - 5.0 * ca) * abs(d) + 8.0 * ca) * abs(d) - 4.0 * ca : 0.0",
};
const INT_RANGE = { uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
  int64: [-(2 ** 63), 2 ** 63], uint64: [0, 2 ** 64] };

export const resize = {
  ops: ["Resize"],
  inputNames: ["X"],
  prepare({ inputs, output, attrs }) {
    const mode = attrs.mode ?? "nearest", ctm = attrs.coordinate_transformation_mode ?? "half_pixel";
    const nearest = attrs.nearest_mode ?? "round_prefer_floor";
    if (!SOURCE[ctm] || !NEAREST[nearest] || !(mode === "nearest" || FILTER[mode])) {
      throw new Error(`Resize: mode=${mode}, coordinate_transformation_mode=${ctm}, nearest_mode=${nearest} has no WebGL kernel`);
    }
    const shape = inputs[0].shape, axes = resizedAxes(shape, output.shape, attrs, ctm);
    if (!axes.length || output.size === 0) return { body: "  return X_flat(i);" };
    const support = mode === "linear" ? 1 : 2, antialias = mode !== "nearest" && attrs.antialias === 1;
    const s = axes.map((p) => (antialias ? Math.min(p.scale, 1) : 1));
    const rr = s.map((v) => Math.ceil(support / v));
    const T = 2 * Math.max(...rr);
    const uniforms = {
      rscale: ["float", axes.map((p) => p.scale)], rwidth: ["float", axes.map((p) => p.width)],
      rstart: ["float", axes.map((p) => p.start)], rend: ["float", axes.map((p) => p.end)],
      // half_pixel_symmetric's centring term depends only on the axis: float32, as the reference
      roffset: ["float", axes.map((p) => f32(f32(p.len / 2) * f32(1 - f32(p.n / f32(p.width)))))],
      rr: ["int", rr], rs: ["float", s], ca: ["float", attrs.cubic_coeff_a ?? -0.75], extrapolation: ["float", attrs.extrapolation_value ?? 0],
    };
    const lines = axes.map((p, j) => {
      const x = `  float x${j} = source(float(c[${p.a}]), float(X_shape[${p.a}]), out_shape[${p.a}], rscale[${j}], rwidth[${j}], rstart[${j}], rend[${j}], roffset[${j}]);`;
      const outside = ctm === "tf_crop_and_resize" ? `\n  if (x${j} < 0.0 || x${j} > float(X_shape[${p.a}] - 1)) return extrapolation;` : "";
      const tap = mode === "nearest"
        ? `\n  c[${p.a}] = int(clamp(near(x${j}), 0.0, float(X_shape[${p.a}] - 1)));`
        : `\n  int i${j}[T]; float w${j}[T];\n  taps(x${j}, X_shape[${p.a}], rr[${j}], rs[${j}], i${j}, w${j});`;
      return x + outside + tap;
    });
    let helpers = `const int T = ${Math.max(T, 1)};
float source(float y, float len, int n, float scale, float width, float start, float end, float offset) { return ${SOURCE[ctm]}; }
float near(float x) { return ${NEAREST[nearest]}; }`;
    if (mode === "nearest") return { uniforms, helpers, body: `${lines.join("\n")}\n  return X_at(c);` };

    const exclude = attrs.exclude_outside === 1;
    helpers += `
float filter_(float d) { return ${FILTER[mode]}; }
// taps floor(x) + 1 - r .. floor(x) + r, clamped to the edge; weights normalized when
// antialiasing or leaving outside taps out
void taps(float x, int len, int r, float s, out int idx[T], out float w[T]) {
  float f = floor(x), total = 0.0;
  for (int m = 0; m < T; m++) {
    float p = f + float(1 - r + m);
    w[m] = m < 2 * r ${exclude ? "&& p >= 0.0 && p < float(len) " : ""}? filter_((p - x) * s) : 0.0;
    total += w[m];
    idx[m] = int(clamp(p, 0.0, float(len - 1)));
  }
  ${antialias || exclude ? "if (total != 0.0) for (int m = 0; m < T; m++) w[m] /= total;" : ""}
}`;
    // nested loops over the axes' taps; a zero weight skips its tap, even a NaN or Inf one
    let sum = `acc += p${axes.length - 1} * X_at(c);`;
    for (let j = axes.length - 1; j >= 0; j--) {
      sum = `for (int m${j} = 0; m${j} < T; m${j}++) {
    float p${j} = ${j ? `p${j - 1} * ` : ""}w${j}[m${j}];
    if (p${j} == 0.0) continue;
    c[${axes[j].a}] = i${j}[m${j}];
    ${sum}
  }`;
    }
    const range = INT_RANGE[output.dtype];
    if (!output.dtype.startsWith("float") && !range) throw new Error(`Resize: dtype ${output.dtype} has no WebGL kernel`);
    const result = range ? `clamp(roundEven(acc), ${range[0].toFixed(1)}, ${range[1].toFixed(1)})` : "acc";
    return { uniforms, helpers, body: `${lines.join("\n")}\n  float acc = 0.0;\n  ${sum}\n  return ${result};` };
  },
};
