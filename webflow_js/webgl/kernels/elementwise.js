// Element-wise ops as tables: a new op is one line here (and one numpy line in
// webflow_py/ops/elementwise.py). Attributes become uniforms, so one program serves every
// alpha. The unary table also supplies fused activations (activation.js).

// name: [GLSL expression of x, {attribute: default}]
export const UNARY = {
  Relu: ["isnan(x) ? x : max(x, 0.0)"],
  Sigmoid: ["1.0 / (1.0 + exp(-x))"],
  Tanh: ["tanh_(x)"],
  Exp: ["exp(x)"],
  Log: ["x < 0.0 ? NAN : (x == 0.0 ? -INF : log(x))"],
  Sqrt: ["x < 0.0 ? NAN : sqrt(x)"],
  Reciprocal: ["1.0 / x"],
  Neg: ["-x"],
  Abs: ["abs(x)"],
  Floor: ["floor(x)"],
  Ceil: ["ceil(x)"],
  Round: ["roundEven(x)"],
  Sign: ["sign(x)"],
  Sin: ["sin(x)"],
  Cos: ["cos(x)"],
  Erf: ["erf_(x)"],
  Softplus: ["max(x, 0.0) + log(1.0 + exp(-abs(x)))"],
  Softsign: ["x / (1.0 + abs(x))"],
  HardSwish: ["x * clamp(x / 6.0 + 0.5, 0.0, 1.0)"],
  Mish: ["x * tanh_(max(x, 0.0) + log(1.0 + exp(-abs(x))))"],
  LeakyRelu: ["x >= 0.0 ? x : alpha * x", { alpha: 0.01 }],
  Elu: ["x >= 0.0 ? x : alpha * (exp(x) - 1.0)", { alpha: 1.0 }],
  Selu: ["gamma * (x > 0.0 ? x : alpha * (exp(x) - 1.0))", { alpha: 1.67326319217681884765625, gamma: 1.05070102214813232421875 }],
  Celu: ["max(x, 0.0) + min(0.0, alpha * (exp(x / alpha) - 1.0))", { alpha: 1.0 }],
  HardSigmoid: ["clamp(alpha * x + beta, 0.0, 1.0)", { alpha: 0.2, beta: 0.5 }],
  ThresholdedRelu: ["x > alpha ? x : 0.0", { alpha: 1.0 }],
  Gelu: ["approximate == 0 ? 0.5 * x * (1.0 + erf_(x * 0.70710678118654752)) : 0.5 * x * (1.0 + tanh_(0.79788456080286536 * (x + 0.044715 * x * x * x)))", { approximate: 0 }],
  Clip: ["isnan(x) ? x : min(max(x, min_), max_)", { min: -Infinity, max: Infinity }],
  Not: ["x == 0.0 ? 1.0 : 0.0"],
  IsNaN: ["isnan(x) ? 1.0 : 0.0"],
};

// Math the expressions share. tanh and erf are written out because GLSL's tanh overflows
// for large |x| on some drivers and GLSL has no erf.
export const MATH = `
const float INF = 1.0 / 0.0;
const float NAN = 0.0 / 0.0;
float tanh_(float x) {
  if (abs(x) > 10.0) return sign(x);
  float e = exp(2.0 * x);
  return (e - 1.0) / (e + 1.0);
}
float erf_(float x) {
  // Abramowitz & Stegun 7.1.26 refined: |error| < 1.5e-7
  float t = 1.0 / (1.0 + 0.3275911 * abs(x));
  float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return sign(x) * y;
}
`;

// Ops whose expression already says what NaN gives (ThresholdedRelu(NaN) = 0, as in numpy).
const NAN_DEFINED = new Set(["IsNaN", "Not", "ThresholdedRelu"]);

// Uniform names for attributes (min/max are GLSL builtins, hence the underscore).
const uniformName = (attr) => (attr === "min" || attr === "max" ? `${attr}_` : attr);

// The GLSL of a unary op as a function `float <fn>(float x)` plus its attribute uniforms.
export function unaryFunction(op, attrs, fn, prefix = "") {
  const entry = UNARY[op];
  if (!entry) throw new Error(`no element-wise kernel for ${op}`);
  const [expr, defaults = {}] = entry;
  const uniforms = {};
  let body = expr;
  for (const [attr, def] of Object.entries(defaults)) {
    let value = attrs[attr] ?? def;
    if (Array.isArray(value)) value = value.length ? value[0] : def; // host inputs arrive as flat lists
    if (attr === "approximate") value = value === "tanh" || value === 1 ? 1 : 0;
    const name = prefix + uniformName(attr);
    uniforms[name] = [attr === "approximate" ? "int" : "float", clampFloat(value)];
    body = body.replace(new RegExp(`\\b${uniformName(attr)}\\b`, "g"), name);
  }
  // NaN in, NaN out, whatever the driver's exp/max do with it (numpy semantics)
  const guarded = NAN_DEFINED.has(op) ? body : `isnan(x) ? x : (${body})`;
  return { helpers: `float ${fn}(float x) { return ${guarded}; }`, uniforms };
}

function clampFloat(v) {
  if (v === Infinity) return 3.4e38;
  if (v === -Infinity) return -3.4e38;
  return v;
}

// name: GLSL expression of a and b
export const BINARY = {
  Add: "a + b",
  Sub: "a - b",
  Mul: "a * b",
  Div: "intlike == 1 ? trunc(a / b) : a / b",
  Pow: "pow_(a, b)",
  Equal: "a == b ? 1.0 : 0.0",
  Less: "a < b ? 1.0 : 0.0",
  LessOrEqual: "a <= b ? 1.0 : 0.0",
  Greater: "a > b ? 1.0 : 0.0",
  GreaterOrEqual: "a >= b ? 1.0 : 0.0",
  And: "(a != 0.0 && b != 0.0) ? 1.0 : 0.0",
  Or: "(a != 0.0 || b != 0.0) ? 1.0 : 0.0",
  Xor: "((a != 0.0) != (b != 0.0)) ? 1.0 : 0.0",
  Mod: "fmod_ == 1 ? a - b * trunc(a / b) : a - b * floor(a / b)",
  PRelu: "a >= 0.0 ? a : b * a",
};

const POW = `
float pow_(float a, float b) {
  if (b == 0.0) return 1.0;
  if (a >= 0.0) return pow(a, b);
  if (floor(b) != b) return NAN;
  float p = pow(-a, b);
  return mod(b, 2.0) == 0.0 ? p : -p;
}
`;

const isInt = (dtype) => dtype !== "float32" && dtype !== "float64" && dtype !== "float16";

export const unary = {
  ops: Object.keys(UNARY),
  inputNames: ["X"],
  prepare({ op, attrs }) {
    const f = unaryFunction(op, attrs, "f");
    return { helpers: MATH + f.helpers, uniforms: f.uniforms, body: "  return f(X_flat(i));" };
  },
};

export const binary = {
  ops: Object.keys(BINARY),
  inputNames: ["A", "B"],
  prepare({ op, inputs, attrs }) {
    return {
      helpers: MATH + POW,
      uniforms: { intlike: ["int", isInt(inputs[0].dtype) ? 1 : 0], fmod_: ["int", attrs.fmod ? 1 : 0] },
      body: `  float a = A_bcast(c), b = B_bcast(c);\n  return ${BINARY[op]};`,
    };
  },
};

// Variadic Max / Min / Sum / Mean and Where.
export const variadic = {
  ops: ["Max", "Min", "Sum", "Mean"],
  prepare({ op, inputs }) {
    const names = inputs.map((_, k) => `X${k}`);
    const combine = { Max: "r = (isnan(v) || isnan(r)) ? NAN : max(r, v);", Min: "r = (isnan(v) || isnan(r)) ? NAN : min(r, v);", Sum: "r += v;", Mean: "r += v;" }[op];
    const lines = names.slice(1).map((n) => `  v = ${n}_bcast(c); ${combine}`).join("\n");
    const tail = op === "Mean" ? `  return r / ${inputs.length}.0;` : "  return r;";
    return { inputNames: names, helpers: MATH, body: `  float r = X0_bcast(c), v;\n${lines}\n${tail}` };
  },
};

export const where = {
  ops: ["Where"],
  inputNames: ["C", "A", "B"],
  prepare() {
    return { body: "  return C_bcast(c) != 0.0 ? A_bcast(c) : B_bcast(c);" };
  },
};
