// The one place that does texel <-> index arithmetic. Kernels write a body in terms of
// element coordinates; this module wraps it with the uniforms and accessors every program
// needs. Shapes are uniforms, so a new input size reuses the compiled program.
//
// For an input named X of rank r (output rank R) a kernel may use:
//   float X_flat(int i)      element i of X (row-major)
//   vec4  X_texel(int t)     texel t of X (elements 4t .. 4t+3)
//   int   X_index(int c[r])  row-major index of coordinates c in X
//   float X_at(int c[r])     X at coordinates c
//   float X_bcast(int c[R])  X at output coordinates c, broadcasting X (numpy rules)
//   X_shape[r]               its shape
// and for the output: out_shape[R], out_size, and out_coords(i, c).
// Element kernels define `float compute(int i, int c[R])`; texel kernels (which write four
// elements at once) define `vec4 compute_texel(int t)`; block kernels (register-blocked
// matmul) define `void compute_block(int t, int q, out vec4 r[B])`, writing texels t + j*q of a
// banded output (textures.js) through B (spec.block) render targets.

export const HEADER = `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
precision highp sampler2DArray;
`;

export const VERTEX = `#version 300 es
void main() {
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
`;

const rankOf = (r) => Math.max(r, 1);

// Texel t sits at (t % width, t / width); widths are powers of two (textures.js), so a mask and
// a shift say where, and texture() at the texel's centre reads it: on SwiftShader that is ~1.4x
// faster than texelFetch with a division. Shift and 1 / (texture size) are uniforms (programs
// stay shared across sizes) copied into globals once per fragment: SwiftShader reloads a
// uniform at every use, which in a kernel's inner loop costs another ~20%.

// A banded input's texel row y lies in layer y / band: with v = (y + 0.5) / band (iv.y is
// 1 / band), floor(v) is the layer and fract(v) the row's texture coordinate in it.
function texelAccessor(name, banded) {
  if (!banded) {
    return `uniform sampler2D ${name};
vec4 ${name}_texel(int t) { return texture(${name}, (vec2(float(t & ${name}_mask), float(t >> ${name}_sh)) + 0.5) * ${name}_iv); }`;
  }
  return `uniform sampler2DArray ${name};
vec4 ${name}_texel(int t) {
  float v = (float(t >> ${name}_sh) + 0.5) * ${name}_iv.y;
  return texture(${name}, vec3((float(t & ${name}_mask) + 0.5) * ${name}_iv.x, fract(v), floor(v)));
}`;
}

function inputAccessors(name, rank, outRank, banded) {
  const r = rankOf(rank), R = rankOf(outRank);
  const index = Array.from({ length: r }, (_, d) => `  i = i * ${name}_shape[${d}] + c[${d}];`).join("\n");
  const bcast = Array.from({ length: R }, (_, d) => `c[${d}] * ${name}_bstrides[${d}]`).join(" + ");
  return `
uniform int ${name}_shift;
uniform vec2 ${name}_inv;
vec2 ${name}_iv;
int ${name}_sh, ${name}_mask;
uniform int ${name}_shape[${r}];
uniform int ${name}_bstrides[${R}];
${texelAccessor(name, banded)}
float ${name}_flat(int i) { return ${name}_texel(i >> 2)[i & 3]; }
int ${name}_index(int c[${r}]) {
  int i = 0;
${index}
  return i;
}
float ${name}_at(int c[${r}]) { return ${name}_flat(${name}_index(c)); }
float ${name}_bcast(int c[${R}]) { return ${name}_flat(${bcast}); }
`;
}

function uniformDecls(uniforms) {
  return Object.entries(uniforms || {})
    .map(([name, [type, value]]) => (Array.isArray(value) ? `uniform ${type} ${name}[${Math.max(value.length, 1)}];` : `uniform ${type} ${name};`))
    .join("\n");
}

// spec: {inputs: [[name, rank, banded] | null], outRank, uniforms: {name: [glslType, value]}, helpers, body,
// texel, block (the number of render targets)}
export function fragmentSource(spec) {
  const R = rankOf(spec.outRank);
  const ins = spec.inputs.filter(Boolean).map(([name, rank, banded]) => inputAccessors(name, rank, spec.outRank, banded)).join("");
  const coords = Array.from({ length: R }, (_, k) => {
    const d = R - 1 - k;
    return `  c[${d}] = i % out_shape[${d}]; i /= out_shape[${d}];`;
  }).join("\n");
  const init = spec.inputs.filter(Boolean)
    .map(([name]) => `  ${name}_iv = ${name}_inv; ${name}_sh = ${name}_shift; ${name}_mask = (1 << ${name}_shift) - 1;`).join("\n");
  const bands = Array.from({ length: spec.block || 0 }, (_, j) => j);
  const outs = spec.block ? bands.map((j) => `layout(location = ${j}) out vec4 o${j};`).join("\n") + "\nuniform int out_band;" : "out vec4 fragColor;";
  const main = spec.block
    ? `${spec.body}
void main() {
${init}
  int t = (int(gl_FragCoord.y) << out_shift) + int(gl_FragCoord.x);
  vec4 r[${spec.block}];
  compute_block(t, out_band, r);
  ${bands.map((j) => `o${j} = r[${j}];`).join(" ")}
}`
    : spec.texel
    ? `${spec.body}
void main() {
${init}
  int t = (int(gl_FragCoord.y) << out_shift) + int(gl_FragCoord.x);
  fragColor = compute_texel(t);
}`
    : `float compute(int i, int c[${R}]) {
${spec.body}
}
void main() {
${init}
  int t = (int(gl_FragCoord.y) << out_shift) + int(gl_FragCoord.x);
  vec4 r = vec4(0.0);
  for (int k = 0; k < 4; k++) {
    int i = t * 4 + k;
    if (i >= out_size) break;
    int c[${R}];
    out_coords(i, c);
    r[k] = compute(i, c);
  }
  fragColor = r;
}`;
  return `${HEADER}
${outs}
uniform int out_shift;
uniform int out_size;
uniform int out_shape[${R}];
void out_coords(int i, out int c[${R}]) {
${coords}
}
${ins}
${uniformDecls(spec.uniforms)}
${spec.helpers || ""}
${main}
`;
}

// Strides of an input seen from output coordinates: 0 on broadcast dims (numpy rules).
export function broadcastStrides(inShape, outShape) {
  const R = rankOf(outShape.length);
  const out = new Array(R).fill(0);
  let stride = 1;
  for (let k = 0; k < inShape.length; k++) {
    const d = inShape.length - 1 - k;
    const od = outShape.length - 1 - k;
    if (od >= 0 && inShape[d] !== 1) out[od] = stride;
    stride *= inShape[d];
  }
  return out;
}
