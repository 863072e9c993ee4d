// Compiled shader programs, cached by their source: one program per (kernel, ranks, dtype,
// code-changing attributes). Shapes are uniforms, so the cache stays small.

import { VERTEX, broadcastStrides } from "./shader.js";

export class ProgramCache {
  constructor(gl) {
    this.gl = gl;
    this.cache = new Map();
    this.compiled = 0;
    this.vertex = this._shader(gl.VERTEX_SHADER, VERTEX);
  }

  _shader(type, source) {
    const gl = this.gl;
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    return s;
  }

  get(source, label) {
    let p = this.cache.get(source);
    if (p) return p;
    const gl = this.gl;
    const fragment = this._shader(gl.FRAGMENT_SHADER, source);
    const program = gl.createProgram();
    gl.attachShader(program, this.vertex);
    gl.attachShader(program, fragment);
    gl.linkProgram(program);
    p = { program, fragment, source, label, locations: new Map(), linked: null, values: new Map() }; // values: loc -> key of what is set
    this.cache.set(source, p);
    this.compiled++;
    return p;
  }

  // Link status is asked for lazily, so many programs compile in parallel in the driver.
  check(p) {
    if (p.linked) return;
    const gl = this.gl;
    if (!gl.getProgramParameter(p.program, gl.LINK_STATUS)) {
      const log = gl.getShaderInfoLog(p.fragment) || gl.getProgramInfoLog(p.program);
      const numbered = p.source.split("\n").map((l, i) => `${String(i + 1).padStart(4)} ${l}`).join("\n");
      throw new Error(`webgl kernel ${p.label}: shader does not compile: ${log}\n${numbered}`);
    }
    p.linked = true;
  }

  loc(p, name) {
    let l = p.locations.get(name);
    if (l === undefined) {
      l = this.gl.getUniformLocation(p.program, name);
      p.locations.set(name, l);
    }
    return l;
  }
}

// The uniform values a prepared draw sets, in a flat list so replay is a tight loop: [fn, loc,
// value, key], the key telling whether the program already holds that value. Sampler k reads
// texture unit k (the draw's k-th input that is there).
export function drawUniforms(cache, p, inputs, inputNames, out, extra) {
  const u = [];
  const i32 = (v) => Int32Array.from(v.length ? v : [1]);
  const add = (name, fn, value) => {
    const loc = cache.loc(p, name);
    if (loc !== null) u.push([fn, loc, value, typeof value === "number" ? value : value.join(",")]);
  };
  const outShape = out.shape.length ? out.shape : [1];
  add("out_shift", "uniform1i", out.shift);
  add("out_size", "uniform1i", out.size);
  add("out_shape", "uniform1iv", i32(outShape));
  add("out_band", "uniform1i", out.band * out.width); // texels per band (banded outputs)
  let unit = 0;
  inputs.forEach((t, k) => {
    if (!t) return;
    const n = inputNames[k];
    add(n, "uniform1i", unit++);
    add(`${n}_shift`, "uniform1i", t.shift);
    add(`${n}_inv`, "uniform2fv", Float32Array.of(1 / t.width, 1 / t.height)); // 1 / texture (layer) size
    add(`${n}_shape`, "uniform1iv", i32(t.shape.length ? t.shape : [1]));
    add(`${n}_bstrides`, "uniform1iv", i32(broadcastStrides(t.shape, out.shape)));
  });
  for (const [name, [type, value]] of Object.entries(extra || {})) {
    const isInt = type.startsWith("int") || type.startsWith("ivec") || type === "bool";
    if (Array.isArray(value)) {
      add(name, isInt ? "uniform1iv" : "uniform1fv", isInt ? i32(value) : Float32Array.from(value.length ? value : [0]));
    } else {
      add(name, isInt ? "uniform1i" : "uniform1f", value);
    }
  }
  return u;
}

