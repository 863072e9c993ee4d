// Image -> model input in one GPU pass: crop, bilinear resize, mirror, normalize, layout.
// The same computation in numpy is webflow_py/media.py's preprocess_image (the reference the
// browser tests compare with). Every parameter is a uniform, so one program serves every
// camera resolution, crop box and model input size.
//
// params (all optional):
//   crop:     "center" (largest centred box with the output's aspect ratio; default), "full",
//             {x, y, width, height} or [x, y, width, height] in source pixels (before mirroring;
//             fractions allowed, must overlap the frame)
//   size:     n | [height, width] | {width, height}  (default: the crop's size)
//   mirror:   flip left-right (selfie view)
//   mean/std: per channel (or one number) on values in [0, 1]: (v - mean) / std
//   range:    [lo, hi]: v in [0, 1] -> lo + v * (hi - lo)   (default [0, 1])
//   layout:   "NCHW" (default) | "NHWC"; batch 1
//   channels: "rgb" (default) | "bgr" | "gray" (0.299 R + 0.587 G + 0.114 B)
// Sampling: output pixel (i, j) reads source (x + (j + 0.5) * width / W - 0.5, y + (i + 0.5) *
// height / H - 0.5), clamped to the crop box within the frame, bilinear between the 4 nearest
// pixels (no antialiasing).

const ORDERS = { rgb: 0, bgr: 1, gray: 2 };

function sizeOf(size, crop) {
  if (size == null) return [Math.max(1, Math.round(crop[3])), Math.max(1, Math.round(crop[2]))];
  if (typeof size === "number") return [size, size];
  if (Array.isArray(size)) return [size[0], size[1]];
  return [size.height, size.width];
}

function cropOf(crop, w, h, aspect) {
  if (crop == null || crop === "full") return [0, 0, w, h];
  if (crop === "center") {
    const cw = Math.min(w, h * aspect), ch = Math.min(h, w / aspect);
    return [(w - cw) / 2, (h - ch) / 2, cw, ch];
  }
  if (Array.isArray(crop)) return crop.map(Number);
  if (typeof crop === "object") return [crop.x, crop.y, crop.width, crop.height].map(Number);
  throw new Error(`image preprocessing: crop must be "center", "full", {x, y, width, height} or [x, y, width, height], got ${JSON.stringify(crop)}`);
}

function perChannel(v, c, name) {
  const a = typeof v === "number" ? new Array(c).fill(v) : [...v];
  if (a.length !== c) throw new Error(`image preprocessing: ${name} has ${a.length} values, ${c} channel(s) need ${c}`);
  return a;
}

// params + source size -> everything the kernel needs, checked.
export function imageParams(params = {}, w, h) {
  const { crop = "center", size, mirror = false, mean, std, range, layout = "NCHW", channels = "rgb" } = params;
  const bad = (m) => new Error(`image preprocessing: ${m}`);
  if (!(channels in ORDERS)) throw bad(`channels must be "rgb", "bgr" or "gray", got ${JSON.stringify(channels)}`);
  if (layout !== "NCHW" && layout !== "NHWC") throw bad(`layout must be "NCHW" or "NHWC", got ${JSON.stringify(layout)}`);
  let out = size == null ? null : sizeOf(size);
  const box = cropOf(crop, w, h, out ? out[1] / out[0] : 1);
  out = out || sizeOf(null, box);
  if (!out.every((d) => Number.isInteger(d) && d >= 1 && d <= 4096)) throw bad(`size must be whole numbers in 1..4096, got ${JSON.stringify(size)}`);
  const [x, y, cw, ch] = box;
  if (!(cw > 0 && ch > 0) || x >= w || y >= h || x + cw <= 0 || y + ch <= 0) {
    throw bad(`crop [${box.join(", ")}] does not overlap the ${w}x${h} frame`);
  }
  const C = channels === "gray" ? 1 : 3;
  if (range != null && (mean != null || std != null)) throw bad("give either range or mean/std, not both");
  let scale, offset;
  if (mean != null || std != null) {
    const m = perChannel(mean ?? 0, C, "mean"), s = perChannel(std ?? 1, C, "std");
    if (s.some((v) => !v)) throw bad("std must not be 0");
    [scale, offset] = [s.map((v) => 1 / v), m.map((v, k) => -v / s[k])];
  } else {
    const [lo, hi] = range ?? [0, 1];
    [scale, offset] = [new Array(C).fill(hi - lo), new Array(C).fill(lo)];
  }
  const [H, W] = out;
  const lo = [Math.max(x, 0), Math.max(y, 0)];
  return {
    shape: layout === "NCHW" ? [1, C, H, W] : [1, H, W, C],
    crop: box,
    bounds: [lo[0], lo[1], Math.max(lo[0], Math.min(x + cw, w) - 1), Math.max(lo[1], Math.min(y + ch, h) - 1)],
    frameSize: [w, h],
    mirror: mirror ? 1 : 0,
    nhwc: layout === "NHWC" ? 1 : 0,
    order: ORDERS[channels],
    scale,
    offset,
  };
}

// The kernel for the WebGL backend (../webgl/shader.js writes the accessors): no tensor inputs;
// the frame is an RGBA8 texture read with texelFetch, so sampling is exact, not the GPU's
// 8-bit-weighted bilinear filter.
export function imageKernel(p) {
  return {
    shape: p.shape,
    uniforms: {
      crop: ["float", p.crop], bounds: ["float", p.bounds], frame_size: ["int", p.frameSize],
      mirror: ["int", p.mirror], nhwc: ["int", p.nhwc], order: ["int", p.order],
      scale: ["float", [...p.scale, 0, 0].slice(0, 3)], offset: ["float", [...p.offset, 0, 0].slice(0, 3)],
    },
    helpers: `
uniform sampler2D frame;
vec3 bilinear(vec2 s) {
  ivec2 p = ivec2(floor(s)), last = ivec2(frame_size[0] - 1, frame_size[1] - 1);
  ivec2 q = min(p + 1, last);
  vec2 f = s - vec2(p);
  vec3 top = mix(texelFetch(frame, p, 0).rgb, texelFetch(frame, ivec2(q.x, p.y), 0).rgb, f.x);
  vec3 bottom = mix(texelFetch(frame, ivec2(p.x, q.y), 0).rgb, texelFetch(frame, q, 0).rgb, f.x);
  return mix(top, bottom, f.y);
}`,
    body: `
  bool hwc = nhwc == 1;
  int ch = hwc ? c[3] : c[1], y = hwc ? c[1] : c[2], x = hwc ? c[2] : c[3];
  int H = out_shape[hwc ? 1 : 2], W = out_shape[hwc ? 2 : 3];
  if (mirror == 1) x = W - 1 - x;
  vec2 s = vec2(crop[0] + (float(x) + 0.5) * crop[2] / float(W) - 0.5, crop[1] + (float(y) + 0.5) * crop[3] / float(H) - 0.5);
  vec3 rgb = bilinear(clamp(s, vec2(bounds[0], bounds[1]), vec2(bounds[2], bounds[3])));
  float v = order == 2 ? dot(rgb, vec3(0.299, 0.587, 0.114)) : rgb[order == 1 ? 2 - ch : ch];
  return v * scale[ch] + offset[ch];`,
  };
}
