// Linear (de)quantization to and from 8- and 16-bit integers. Per-tensor, per-axis and blocked
// scales are one program: element i's scale index is o * souter + (a / block) * sinner + r * sr,
// where (o, a, r) are i's [outer, axis, inner] coordinates.

import { ROUND_TO } from "./tensor.js";

const RANGE = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535] };

// The scale-index uniforms for x and a scale of this shape (a zero point has the same shape).
function granularity(x, scale, attrs) {
  let u = { inner: 1, dim: 1, block: 1, souter: 0, sinner: 0, sr: 0 };
  if (!(scale.shape.length <= 1 && scale.size === 1)) {
    const r = x.shape.length, axis = attrs.axis ?? 1, a = axis < 0 ? axis + r : axis;
    const inner = x.shape.slice(a + 1).reduce((p, d) => p * d, 1);
    u = { inner, dim: x.shape[a], block: 1, souter: 0, sinner: 1, sr: 0 };
    if (attrs.block_size > 0) u = { ...u, block: attrs.block_size, souter: scale.shape[a] * inner, sinner: inner, sr: 1 };
  }
  return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, ["int", v]]));
}

const SCALE_INDEX = `  int r = i % inner, a = (i / inner) % dim, o = i / (inner * dim);
  int j = o * souter + (a / block) * sinner + r * sr;`;

export const dequantize = {
  ops: ["DequantizeLinear"],
  inputNames: ["X", "S", "Z"],
  prepare({ op, inputs, output, attrs }) {
    if (!RANGE[inputs[0].dtype] && inputs[0].dtype !== "int32") throw new Error(`${op}: input dtype ${inputs[0].dtype} has no WebGL kernel (8-, 16- and 32-bit ints only)`);
    if (output.dtype !== "float32" && output.dtype !== "float16") throw new Error(`${op}: output dtype ${output.dtype} has no WebGL kernel`);
    const zp = inputs[2] ? " - Z_flat(j)" : "";
    const half = output.dtype === "float16";
    return {
      uniforms: granularity(inputs[0], inputs[1], attrs),
      helpers: half ? ROUND_TO.float16 : "",
      body: `${SCALE_INDEX}\n  return ${half ? "half_" : ""}((X_flat(i)${zp}) * S_flat(j));`,
    };
  },
};

// round(x / scale) half to even, plus the zero point, saturated to the integer's range. The
// division runs in float16 or bfloat16 when `precision` (or x and the scale both) say so:
// operands and quotient rounded to it.
export const quantize = {
  ops: ["QuantizeLinear"],
  inputNames: ["X", "S", "Z"],
  prepare({ op, inputs, output, attrs }) {
    const range = RANGE[output.dtype];
    if (!range) throw new Error(`${op}: output dtype ${output.dtype} has no WebGL kernel (int8, uint8, int16, uint16 only)`);
    const zp = inputs[2] ? " + Z_flat(j)" : "";
    const [x, s] = inputs;
    const low = attrs.precision ?? (x.dtype === s.dtype && ROUND_TO[x.dtype] ? x.dtype : "float32");
    if (low !== "float32" && !ROUND_TO[low]) throw new Error(`${op}: precision=${low} has no WebGL kernel`);
    const r = { float32: "", float16: "half_", bfloat16: "bf16_" }[low];
    return {
      uniforms: granularity(x, s, attrs),
      helpers: ROUND_TO[low] ?? "",
      body: `${SCALE_INDEX}
  float q = ${r}(${r}(X_flat(i)) / ${r}(S_flat(j)));
  return clamp(roundEven(q)${zp}, ${range[0].toFixed(1)}, ${range[1].toFixed(1)});`,
    };
  },
};
