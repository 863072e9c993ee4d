// The kernel registry: op name -> kernel. Every kernel module is listed here, explicitly.
// A kernel is {ops, inputNames?, prepare({op, inputs, output, outputIndex, attrs}) ->
// {body, helpers?, uniforms?, inputNames?, texel?}} (see ../shader.js for what a body can use).

import { binary, unary, variadic, where } from "./elementwise.js";
import { gemm, matmul } from "./linalg.js";
import { conv, convTranspose } from "./conv.js";
import { pool } from "./pool.js";
import { batchNorm, channelNorm, layerNorm, lpNorm, lrn, meanVarNorm } from "./norm.js";
import { arg, reduce, softmax } from "./reduce.js";
import { concat, copy, depthToSpace, expand, gather, gatherElements, pad, slice, spaceToDepth, split, tile, transpose, trilu } from "./movement.js";
import { dequantize, quantize } from "./quant.js";
import { resize } from "./resize.js";
import { cast, constantOfShape, dropout, eyeLike, range, shape, size } from "./tensor.js";

const FAMILIES = [unary, binary, variadic, where, matmul, gemm, conv, convTranspose, pool,
  reduce, arg, softmax, batchNorm, layerNorm, channelNorm, lpNorm, meanVarNorm, lrn,
  copy, transpose, slice, split, concat, gather, gatherElements, expand, tile, pad, depthToSpace, spaceToDepth, trilu,
  cast, constantOfShape, dropout, range, eyeLike, shape, size, resize, dequantize, quantize];

export const KERNELS = new Map();
for (const kernel of FAMILIES) {
  for (const op of kernel.ops) {
    if (KERNELS.has(op)) throw new Error(`two webgl kernels claim op ${op}`);
    KERNELS.set(op, { ...kernel, prepare: (args) => kernel.prepare({ op, ...args }) });
  }
}
