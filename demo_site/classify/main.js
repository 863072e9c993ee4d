// The image classifier: camera frames (or a picked / dropped image) -> one GPU kernel that crops,
// resizes and normalizes (parameters from demo_site/py/classify) -> EfficientNet-Lite0 on the GPU
// -> Python's softmax top-5 -> the list on the page.
//
// The camera starts with the page; when it is denied or absent the page says so and the image
// picker still works. A picked image pauses the camera ("Use the camera" resumes it).
// window.__demo gets frames (inputs classified), source ("camera" | "image") and top
// ([[class index, label, probability]] x 5); __demoKit.probe(source) resolves with the next
// classified input (of that source, if given) read back from the GPU, its logits, top-5 and the
// list as shown (for the tests).

import { startDemo } from "../common/demo.js";

const $ = (id) => document.getElementById(id);
const js = (proxy) => {
  const v = proxy.toJs({ dict_converter: Object.fromEntries });
  proxy.destroy();
  return v;
};

async function main() {
  const demo = await startDemo({ title: "Image classifier", models: ["efficientnet"], python: ["classify"] });
  const model = demo.models.efficientnet;
  const backend = demo.rt.backend;
  const { classify } = demo.py;
  const labels = classify.labels(model.py); // a Python list, handed back to top_k as it is
  const state = Object.assign(demo.state, { frames: 0, source: null, top: null });
  const view = $("view");
  let probe = null;
  demo.probe = (source = null) => new Promise((resolve) => (probe = { source, resolve }));

  // --- logits -> top-5 on the page ----------------------------------------------------------
  const list = $("top5");
  async function post(logits, input, source) {
    const top = js(classify.top_k(logits, labels, 5));
    list.replaceChildren(...top.map(([, name, p]) => {
      const li = document.createElement("li");
      li.innerHTML = `<span class="name"></span><span class="p">${(100 * p).toFixed(1)}%</span><div class="b"><div></div></div>`;
      li.querySelector(".name").textContent = li.querySelector(".name").title = name;
      li.querySelector(".b div").style.width = `${(100 * p).toFixed(1)}%`;
      return li;
    }));
    $("source").textContent = source === "camera" ? "Top 5: the camera" : "Top 5: your image";
    Object.assign(state, { frames: state.frames + 1, source, top });
    if (probe && (!probe.source || probe.source === source)) {
      const { resolve } = probe;
      probe = null;
      const shown = [...list.children].map((li) => [li.querySelector(".name").textContent, li.querySelector(".p").textContent]);
      resolve({ source, top, shown, logits: Float32Array.from(logits), input: await backend.read(input.handle), shape: input.shape });
    }
  }

  // --- the camera -----------------------------------------------------------------------------
  let cam = null, loop = null, stopStats = null;

  async function startCamera() {
    $("camera").hidden = true;
    try {
      cam = await demo.camera({ width: 640, height: 480 });
    } catch {
      // demo.camera has shown why (denied, no camera, ...); photos still work
      $("empty").textContent = "No camera: pick or drop an image instead.";
      $("camera").hidden = false;
      return;
    }
    view.replaceChildren(cam.video);
    const params = js(classify.params(cam.width, cam.height));
    stopStats = demo.stats.follow(cam);
    loop = cam.frames(model, params, (out, frame) => post(out.logits.data, frame, "camera"));
    loop.done.catch((e) => cam && demo.error(e, "The camera stopped"));
  }

  async function stopCamera() {
    if (!cam) return;
    const [c, l] = [cam, loop];
    cam = loop = null;
    l.stop();
    c.close(); // wakes a loop waiting for a frame; one already in the model finishes first
    await l.done.catch(() => {});
    stopStats();
    $("camera").hidden = false;
  }

  // --- a picked or dropped image --------------------------------------------------------------
  async function classifyFile(file) {
    if (!file) return;
    if (!file.type.startsWith("image/")) return demo.error(new Error(`${file.name} is not an image (${file.type || "unknown type"}).`), "Pick an image file");
    await stopCamera();
    const t0 = performance.now();
    let bitmap;
    try {
      // the file's own pixels: no colour management, no premultiplied alpha
      bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none", imageOrientation: "from-image" });
    } catch (e) {
      return demo.error(new Error(`${file.name} could not be decoded (${e.message}).`), "This image cannot be read");
    }
    const img = document.createElement("img");
    img.src = URL.createObjectURL(file);
    img.alt = file.name;
    img.onload = () => URL.revokeObjectURL(img.src);
    view.replaceChildren(img);
    const t1 = performance.now();
    const { width, height } = bitmap;
    const handle = backend.uploadImage(bitmap, js(classify.params(width, height)));
    bitmap.close();
    const input = { handle, shape: backend.info(handle).shape, dtype: "float32" };
    try {
      const t2 = performance.now();
      const out = await model.predict({ image: input });
      const t3 = performance.now();
      await post(out.logits.data, input, "image");
      demo.stats.show({ capture_ms: t1 - t0 + backend.imageTiming.capture_ms, preprocess_ms: backend.imageTiming.preprocess_ms,
        model_ms: t3 - t2, postprocess_ms: performance.now() - t3, note: `${file.name}: ${width} x ${height}, decoded and classified once` });
    } catch (e) {
      demo.error(e, "The model could not run");
    } finally {
      backend.dispose(handle);
    }
  }

  $("file").addEventListener("change", (e) => classifyFile(e.target.files[0]).finally(() => (e.target.value = "")));
  view.addEventListener("dragover", (e) => {
    e.preventDefault();
    view.classList.add("drop");
  });
  view.addEventListener("dragleave", () => view.classList.remove("drop"));
  view.addEventListener("drop", (e) => {
    e.preventDefault();
    view.classList.remove("drop");
    classifyFile(e.dataTransfer.files[0]);
  });
  $("camera").addEventListener("click", startCamera);
  await startCamera();
}

main().catch(() => {}); // startDemo has shown the error on the page
