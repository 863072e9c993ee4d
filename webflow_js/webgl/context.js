// The WebGL2 context and what it can do. webflow needs WebGL2 and float32 render targets;
// without them it says so (capabilities(), or a clear error), never computes wrong numbers.

export class WebGLUnavailable extends Error {}

export function createContext() {
  const canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(1, 1) : document.createElement("canvas");
  const gl = canvas.getContext("webgl2", {
    alpha: false, antialias: false, depth: false, stencil: false,
    premultipliedAlpha: false, preserveDrawingBuffer: false, powerPreference: "high-performance",
  });
  if (!gl) throw new WebGLUnavailable("WebGL2 is not available in this browser");
  if (!gl.getExtension("EXT_color_buffer_float")) {
    throw new WebGLUnavailable("this browser's WebGL2 cannot render to float32 textures (EXT_color_buffer_float is missing)");
  }
  const timer = gl.getExtension("EXT_disjoint_timer_query_webgl2");
  gl.disable(gl.DEPTH_TEST);
  gl.disable(gl.BLEND);
  gl.disable(gl.DITHER);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  gl.pixelStorei(gl.PACK_ALIGNMENT, 1);
  // a software renderer (SwiftShader, llvmpipe) runs "GPU" work on the CPU cores this page uses
  const software = /swiftshader|llvmpipe|softpipe|software/i.test(rendererName(gl));
  return { gl, canvas, timer, software };
}

function rendererName(gl) {
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
}

export function capabilities() {
  const caps = { webgl2: false, floatRenderTargets: false, maxTextureSize: 0, timerQuery: false, renderer: "" };
  let gl;
  try {
    const canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(1, 1) : document.createElement("canvas");
    gl = canvas.getContext("webgl2");
  } catch (e) {
    return caps;
  }
  if (!gl) return caps;
  caps.webgl2 = true;
  caps.floatRenderTargets = !!gl.getExtension("EXT_color_buffer_float");
  caps.maxTextureSize = gl.getParameter(gl.MAX_TEXTURE_SIZE);
  caps.timerQuery = !!gl.getExtension("EXT_disjoint_timer_query_webgl2");
  caps.renderer = rendererName(gl);
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  return caps;
}
