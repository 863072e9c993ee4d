// Shared by the benchmark pages: timing statistics and reporting to the runner (POST /__result,
// the protocol of ../shared/gpu/page_runner.py, so the same pages run on the device machine).

export function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median_ms: q(0.5), p90_ms: q(0.9), min_ms: s[0], runs: s.length };
}

export function params() {
  return Object.fromEntries(new URL(location.href).searchParams);
}

export async function report(result) {
  window.__result = result;
  try {
    await fetch("/__result", { method: "POST", body: JSON.stringify(result) });
  } catch (e) {
    // Playwright runs read window.__result instead
  }
}

export async function guard(fn) {
  try {
    await report({ status: "ok", ...(await fn()) });
  } catch (e) {
    await report({ status: "error", error: String((e && e.stack) || e) });
  }
}

export function renderer() {
  const gl = new OffscreenCanvas(1, 1).getContext("webgl2");
  const info = gl && gl.getExtension("WEBGL_debug_renderer_info");
  return gl ? (info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)) : "none";
}
