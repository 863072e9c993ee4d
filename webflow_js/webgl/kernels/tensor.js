// Tensor ops: casts, tensors made from shapes or scalars, and shapes themselves. Every dtype
// lives in float32 textures, so a cast is the value arithmetic of the target type: truncate,
// wrap to the integer width, round to float16, or test against zero.

import { COPY } from "./movement.js";

// Integer targets: [lowest, 2^bits (0: no wrap), |x| beyond which the cast gives `bad`, bad],
// `bad` being what numpy gives on x86 for NaN and out-of-range floats (a C cast through
// int32, or int64 for the wider ones). 64-bit values past 2^24 are inexact in a texture anyway.
const INT_CAST = {
  int8: [-128, 256, 2 ** 31, 0], uint8: [0, 256, 2 ** 31, 0], int16: [-32768, 65536, 2 ** 31, 0], uint16: [0, 65536, 2 ** 31, 0],
  int32: [-(2 ** 31), 2 ** 32, 2 ** 31, -(2 ** 31)], uint32: [0, 2 ** 32, 2 ** 63, 0],
  int64: [0, 0, 2 ** 63, -(2 ** 63)], uint64: [0, 0, 2 ** 64, 2 ** 63],
};
const UNSUPPORTED = /^(bfloat16|float8|float4|u?int[24]$)/;

// Rounding a float32 to the nearest float16 / bfloat16 (ties to even, overflowing to inf as
// numpy and ml_dtypes do): what a tensor of that dtype holds.
export const ROUND_TO = {
  float16: `
float half_(float x) {
  float a = abs(x);
  if (isnan(x) || a >= 65520.0) return isnan(x) ? x : sign(x) * uintBitsToFloat(0x7f800000u);
  int e = max(((floatBitsToInt(a) >> 23) & 255) - 127, -14) - 10;  // log2 of the ulp; -24 when subnormal
  return roundEven(x * intBitsToFloat((127 - e) << 23)) * intBitsToFloat((127 + e) << 23);
}
`,
  bfloat16: `
float bf16_(float x) {
  if (isnan(x)) return x;
  uint b = floatBitsToUint(x);
  return uintBitsToFloat((b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u);
}
`,
};
const INT = `
// truncate, then wrap into [wlo, wlo + span) like a C cast to a narrower int
float int_(float x) {
  if (isnan(x) || abs(x) >= limit) return bad;
  float v = trunc(x);
  return span == 0.0 ? v : v - span * floor((v - wlo) / span);
}
`;

function castTo(dtype, what) {
  if (UNSUPPORTED.test(dtype)) throw new Error(`${what}: dtype ${dtype} has no WebGL kernel (float8/float4/int4/int2/bfloat16)`);
  if (dtype === "bool") return { fn: "(x != 0.0 ? 1.0 : 0.0)" };
  if (dtype === "float16") return { fn: "half_(x)", helpers: ROUND_TO.float16 };
  if (dtype.startsWith("float")) return { fn: "x" };
  const [wlo, span, limit, bad] = INT_CAST[dtype];
  return { fn: "int_(x)", helpers: INT, uniforms: { wlo: ["float", wlo], span: ["float", span], limit: ["float", limit], bad: ["float", bad] } };
}

// Both read their target from the output's dtype; the program depends only on it.
export const cast = {
  ops: ["Cast", "CastLike"],
  inputNames: ["X", "target_type"],
  prepare({ op, inputs, output }) {
    if (UNSUPPORTED.test(inputs[0].dtype)) throw new Error(`${op}: input dtype ${inputs[0].dtype} has no WebGL kernel`);
    const { fn, helpers = "", uniforms } = castTo(output.dtype, op);
    return {
      texel: true,
      uniforms,
      helpers: `${helpers}float cast_(float x) { return ${fn}; }`,
      body: "vec4 compute_texel(int t) { vec4 v = X_texel(t); return vec4(cast_(v.x), cast_(v.y), cast_(v.z), cast_(v.w)); }",
    };
  },
};

// A host value as the dtype holds it (np.full casts the fill value).
function hostCast(v, dtype) {
  if (dtype === "bool") return Number(Number(v) !== 0);
  return dtype.startsWith("float") ? Number(v) : Math.trunc(Number(v));
}

const fill = (v) => ({ texel: true, uniforms: { value: ["float", v] }, body: "vec4 compute_texel(int t) { return vec4(value); }" });

export const constantOfShape = {
  ops: ["ConstantOfShape"],
  prepare: ({ output, attrs }) => {
    castTo(output.dtype, "ConstantOfShape");
    return fill(hostCast(attrs.value ?? 0, output.dtype));
  },
};

// Inference only: output 0 is the data, the mask (output 1) all true.
export const dropout = {
  ops: ["Dropout"],
  inputNames: ["X", "ratio", "training_mode"],
  prepare: ({ outputIndex }) => (outputIndex === 0 ? COPY : fill(1)),
};

// start + i * delta, in float32 as numpy does for float32 (exact for ints).
export const range = {
  ops: ["Range"],
  prepare: ({ attrs }) => ({
    uniforms: { start: ["float", Number(attrs.start[0])], delta: ["float", Number(attrs.delta[0])] },
    body: "  return float(i) * delta + start;",
  }),
};

export const eyeLike = {
  ops: ["EyeLike"],
  inputNames: ["X"],
  prepare: ({ output, attrs }) => {
    castTo(output.dtype, "EyeLike");
    return { uniforms: { k: ["int", Math.max(-(2 ** 30), Math.min(2 ** 30, attrs.k ?? 0))] }, body: "  return c[1] - c[0] == k ? 1.0 : 0.0;" };
  },
};

// Usually folded when the plan is made; the kernel reads the input's shape uniform.
export const shape = {
  ops: ["Shape"],
  inputNames: ["X"],
  prepare({ inputs, attrs }) {
    const r = inputs[0].shape.length;
    let start = attrs.start ?? 0;
    start = Math.min(Math.max(start < 0 ? start + r : start, 0), r);
    return { uniforms: { first: ["int", start] }, body: "  return float(X_shape[first + i]);" };
  },
};

export const size = {
  ops: ["Size"],
  inputNames: ["X"],
  prepare: ({ inputs }) => ({
    body: `  float n = 1.0;\n  for (int k = 0; k < ${Math.max(inputs[0].shape.length, 1)}; k++) n *= float(X_shape[k]);\n  return n;`,
  }),
};
