// The kernel registry: op name -> kernel. Every kernel module is listed here, explicitly.
// A kernel is {ops, inputNames?, prepare({op, inputs, output, outputIndex, attrs}) ->
// {body, helpers?, uniforms?, inputNames?, texel?}} (see ../shader.js for what a body can use).

import { binary, unary, variadic, where } from "./elementwise.js";

const FAMILIES = [unary, binary, variadic, where];

export const KERNELS = new Map();
for (const kernel of FAMILIES) {
  for (const op of kernel.ops) {
    if (KERNELS.has(op)) throw new Error(`two webgl kernels claim op ${op}`);
    KERNELS.set(op, { ...kernel, prepare: (args) => kernel.prepare({ op, ...args }) });
  }
}
