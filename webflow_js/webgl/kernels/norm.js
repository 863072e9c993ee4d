// Normalizations. Statistics are computed once per row in stages (reduce.js's walk and
// statStages), then one element-wise draw normalizes. They are float32 whatever
// stash_type says (a texture holds float32), which the float32 tolerance covers.

import { MATH } from "./elementwise.js";
import { lastStage, reduction, statStages } from "./reduce.js";

const range = (from, to) => Array.from({ length: Math.max(to - from, 0) }, (_, k) => from + k);

// MEAN, then INV = inv(variance) from the deviations (as the reference: no E[x²] - E[x]²)
function meanInv(w, inv, epsilon = 0) {
  return [
    ...statStages(w, "MEAN", { finish: "r / float(n)" }),
    ...statStages(w, "INV", { pre: "  float mean = MEAN_flat(row);\n", map: "(v - mean) * (v - mean)", finish: inv("r / float(n)") }, { epsilon: ["float", epsilon] }),
  ];
}
const STD_INV = (variance) => `1.0 / sqrt(${variance} + epsilon)`;

export const batchNorm = {
  ops: ["BatchNormalization"],
  inputNames: ["X", "scale", "bias", "mean", "variance"],
  prepare({ attrs }) {
    const body = `  int ch = c[1];
  float inv = scale_flat(ch) / sqrt(variance_flat(ch) + epsilon);
  return (X_flat(i) - mean_flat(ch)) * inv + bias_flat(ch);`;
    return { body, uniforms: { epsilon: ["float", attrs.epsilon] } };
  },
};

// Y, Mean and InvStdDev: the two statistics outputs are the stages themselves.
export const layerNorm = {
  ops: ["LayerNormalization"],
  inputNames: ["X", "scale", "bias"],
  prepare({ inputs, outputIndex, attrs }) {
    const rank = inputs[0].shape.length;
    const stages = meanInv(reduction(inputs[0].shape, range(attrs.axis < 0 ? attrs.axis + rank : attrs.axis, rank)), STD_INV, attrs.epsilon);
    if (outputIndex === 1) return lastStage(stages.slice(0, stages.findIndex((s) => s.name === "MEAN") + 1));
    if (outputIndex === 2) return lastStage(stages);
    const bias = inputs[2] ? " + bias_bcast(c)" : "";
    return { stages, body: `  return (X_flat(i) - MEAN_bcast(c)) * INV_bcast(c) * scale_bcast(c)${bias};` };
  },
};

// Instance norm: each (batch, channel) over the spatial dims. Group norm: each (batch, group) over
// its channels and the spatial dims, a contiguous block of X: the walk runs on X seen as
// [N, groups, block], and an element finds its statistics at n * groups + c / (C / groups).
export const channelNorm = {
  ops: ["InstanceNormalization", "GroupNormalization"],
  inputNames: ["X", "scale", "bias"],
  prepare({ op, inputs, attrs }) {
    const shape = inputs[0].shape;
    const affine = "* scale_flat(c[1]) + bias_flat(c[1])";
    if (op === "InstanceNormalization") {
      const stages = meanInv(reduction(shape, range(2, shape.length)), STD_INV, attrs.epsilon);
      return { stages, body: `  return (X_flat(i) - MEAN_bcast(c)) * INV_bcast(c) ${affine};` };
    }
    const g = attrs.num_groups, block = shape.slice(1).reduce((p, d) => p * d, 1) / g;
    const stages = meanInv(reduction([shape[0], g, block], [2]), STD_INV, attrs.epsilon);
    const body = `  int s = c[0] * groups + c[1] / (X_shape[1] / groups);\n  return (X_flat(i) - MEAN_flat(s)) * INV_flat(s) ${affine};`;
    return { stages, body, uniforms: { groups: ["int", g] } };
  },
};

// x / ||x||_p along one axis (p = 1 or 2); a zero vector stays zero.
export const lpNorm = {
  ops: ["LpNormalization"],
  inputNames: ["X"],
  prepare({ inputs, attrs }) {
    if (attrs.p !== 1 && attrs.p !== 2) throw new Error(`LpNormalization: p=${attrs.p} (1 or 2)`);
    const w = reduction(inputs[0].shape, [attrs.axis]);
    const stages = statStages(w, "P", attrs.p === 1 ? { map: "abs(v)" } : { map: "v * v", finish: "sqrt(r)" });
    return { stages, body: "  float n = P_bcast(c);\n  return n == 0.0 ? 0.0 : X_flat(i) / n;" };
  },
};

// (x - mean) / (stddev + 1e-9) over any set of axes.
export const meanVarNorm = {
  ops: ["MeanVarianceNormalization"],
  inputNames: ["X"],
  prepare({ inputs, attrs }) {
    const stages = meanInv(reduction(inputs[0].shape, attrs.axes), (variance) => `1.0 / (sqrt(${variance}) + 1e-9)`);
    return { stages, body: "  return (X_flat(i) - MEAN_bcast(c)) * INV_bcast(c);" };
  },
};

// LRN: the sum of squares over a window of channels [c - (size-1)/2, c + size/2], clipped.
export const lrn = {
  ops: ["LRN"],
  inputNames: ["X"],
  prepare({ inputs, attrs }) {
    const spatial = inputs[0].shape.slice(2).reduce((p, d) => p * d, 1);
    const body = `  int ch = c[1], lo = max(ch - (size - 1) / 2, 0), hi = min(ch + size / 2, X_shape[1] - 1);
  float s = 0.0;
  for (int k = lo; k <= hi; k++) { float v = X_flat(i + (k - ch) * spatial); s += v * v; }
  return X_flat(i) / pow(bias + alpha / float(size) * s, beta);`;
    const f = (v) => ["float", v];
    return { body, helpers: MATH, uniforms: { size: ["int", attrs.size], spatial: ["int", spatial], alpha: f(attrs.alpha), beta: f(attrs.beta), bias: f(attrs.bias) } };
  },
};
