// Shared by the peers' benchmark pages: timing statistics, the GPU in use, and reporting to the
// runner (POST /__result, the protocol of ../shared/gpu/page_runner.py, and window.__result for
// Playwright), so the same pages run here and on the device machine.

export function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median_ms: q(0.5), p90_ms: q(0.9), min_ms: s[0], runs: s.length };
}

export function params() {
  return Object.fromEntries(new URL(location.href).searchParams);
}

// A runtime this browser cannot run (no WebGPU adapter, ...): reported as "unavailable", not as a failure.
export class Unavailable extends Error {}

export async function report(result) {
  window.__result = result;
  try {
    await fetch("/__result", { method: "POST", body: JSON.stringify(result) });
  } catch (e) {
    // a static server without /__result: Playwright reads window.__result
  }
}

export async function guard(fn) {
  try {
    await report({ status: "ok", ...(await fn()), user_agent: navigator.userAgent });
  } catch (e) {
    const status = e instanceof Unavailable ? "unavailable" : "error";
    await report({ status, error: String((e && (status === "error" ? e.stack : e.message)) || e) });
  }
}

export function renderer() {
  const gl = new OffscreenCanvas(1, 1).getContext("webgl2");
  const info = gl && gl.getExtension("WEBGL_debug_renderer_info");
  return gl ? (info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)) : "none";
}

// The WebGPU adapter a page would get, in words; throws Unavailable when there is none.
export async function webgpuAdapter() {
  if (!navigator.gpu) throw new Unavailable("navigator.gpu is missing (WebGPU disabled in this browser)");
  const a = await navigator.gpu.requestAdapter();
  if (!a) throw new Unavailable("navigator.gpu.requestAdapter() returned null (no WebGPU adapter)");
  const i = a.info || {};
  return [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" / ") || "unknown adapter";
}

// Deterministic pseudo-random float32 data in [-1, 1).
export function randomData(n, seed = 1) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out[i] = (seed / 2147483648) * 2 - 1;
  }
  return out;
}

// Load, first inference (shader compilation included) and `runs` warm inferences; `infer` runs one
// inference from CPU data to outputs read back to the CPU, as an application would.
export async function measure(load, infer, runs) {
  const t0 = performance.now();
  const ctx = await load();
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  await infer(ctx);
  const firstMs = performance.now() - t1;
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await infer(ctx);
    times.push(performance.now() - t);
  }
  return { ctx, load_ms: loadMs, first_ms: firstMs, ...stats(times) };
}
