// The hand-tracking pipeline the hand demos share (gestures, teach):
//   camera frame -> crop (a box, on the GPU) -> MediaPipe's hand_landmark_lite, converted by
//   webflow, on the GPU -> demo_site/py/hands (Python in Pyodide): 21 landmarks in video pixels,
//   presence, handedness, gesture -> an overlay of the box, bones and joints over the video.
//
//   import { startDemo } from "./demo.js";
//   import { HAND_MODEL, startHands } from "./hands.js";
//   const demo = await startDemo({ models: [HAND_MODEL], python: ["hands"] });
//   // demo.py: {"hand_landmark": kit.convert(kit.require(".cache/models/mediapipe/hand_landmark_lite.tflite",
//   //   hint="run scripts/setup.sh"), name="hand-landmark")}: one cached conversion for every demo
//   const hands = await startHands(demo, { stage: element, onHand: (hand) => ... });
//   // hand: {present, presence, handedness, points: 21 [x, y, z] (video pixels), gesture,
//   //        fingers, bends, follow} (hands.analyze in demo_site/py/hands/__init__.py)
//   hands.stop();
//
// Finding the hand: no palm detector. The player holds the hand in a square box drawn in the
// middle of the picture; once a hand is found there, the box follows it (the same size, centred
// on the last frame's hand: hands.landmarks.box_around) until it is lost, then goes back to the
// middle. Why: palm detection would add a second model per frame (palm_detection_lite costs more
// than the landmark model: 1.7x on numpy here) plus decoding 2016 anchors and non-maximum
// suppression, cutting the frame rate by more than half, for a game where the player faces the
// camera anyway.
//
// Per-stage times (demo.stats): capture (video -> texture), preprocess (crop/resize kernel),
// model (predict, outputs read back), postprocess (Python analysis, overlay, onHand). GPU work
// is asynchronous, so without {exact: true} the GPU time of the first two stages shows up in
// "model"; with it, each stage waits for the GPU (slower, but a true split).
// For tests: demo.state.hands = {frames, hand, box}; with demo.state.record set, also the last
// model input and outputs ({dtype, shape, b64}, as tests/browser/harness.decode reads).

export const HAND_MODEL = "hand_landmark"; // <site>/models/hand_landmark/
export const INPUT_SIZE = 224; // the model's input: 224x224 RGB in [0, 1], NHWC
const HOME = 0.7; // the home box's side, as a fraction of the video's shorter side

/** The square box in the middle of a width x height video, [x, y, side, side]. */
export function homeBox(width, height) {
  const side = HOME * Math.min(width, height);
  return [(width - side) / 2, (height - side) / 2, side, side];
}

/** Open the camera, put its video and an overlay into `stage`, and run the pipeline on frame
 * after frame. Options: onHand(hand, box) after each frame; follow (default true): the box
 * follows a found hand; exact: true per-stage GPU times (see above). */
export async function startHands(demo, { stage, onHand = () => {}, follow = true, exact = false, camera = {} } = {}) {
  const model = demo.models[HAND_MODEL];
  const py = demo.py.hands;
  if (!model) throw new Error(`hands.js: the page has no "${HAND_MODEL}" model (startDemo({models: ["${HAND_MODEL}"]}))`);
  if (!py) throw new Error('hands.js: the page has not loaded the "hands" Python package (startDemo({python: ["hands"]}))');
  const [landmarks, presence, handedness] = model.outputs.map((o) => o.name);
  const input = model.inputs[0].name;
  const bones = py.landmarks.BONES.toJs(); // one list of bones, in Python

  const cam = await demo.camera({ width: 640, height: 480, mirror: true, ...camera });
  const overlay = document.createElement("canvas");
  Object.assign(stage.style, { position: "relative", display: "inline-block", lineHeight: 0 });
  Object.assign(cam.video.style, { width: "100%", height: "auto" });
  Object.assign(overlay.style, { position: "absolute", left: 0, top: 0, width: "100%", height: "100%", transform: cam.video.style.transform });
  stage.replaceChildren(cam.video, overlay);

  const state = (demo.state.hands = { frames: 0, hand: null, box: null });
  const params = { crop: homeBox(cam.width, cam.height), size: INPUT_SIZE, layout: "NHWC", mirror: true };
  // cam.frames reads `params` for every frame, so setting params.crop moves the next crop.
  const loop = cam.frames((frame) => model.predict({ [input]: frame }), params, async (out, frame) => {
    const box = params.crop;
    const r = py.analyze(out[landmarks].data, out[presence].data[0], out[handedness].data[0], box, cam.width, cam.height, INPUT_SIZE, true);
    const hand = r.toJs({ dict_converter: Object.fromEntries });
    r.destroy();
    if (demo.state.record) {
      state.input = encode(await frame.read(), frame.shape);
      state.outputs = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, encode(v.data, v.shape)]));
    }
    params.crop = (follow && hand.follow) || homeBox(cam.width, cam.height);
    draw(overlay, cam, box, hand, bones);
    Object.assign(state, { hand, box, frames: state.frames + 1 });
    onHand(hand, box);
  }, { exactTiming: exact });
  loop.done.catch((e) => demo.error(e, "Hand tracking stopped"));
  const stopStats = demo.stats.follow(() => ({ ...cam.stats(), note: `model: ${HAND_MODEL} (MediaPipe, lite), ${INPUT_SIZE}x${INPUT_SIZE}` }));
  return {
    camera: cam,
    overlay,
    state,
    stop() {
      loop.stop();
      stopStats();
      cam.close();
    },
  };
}

// The overlay is the video's size in pixels and mirrored like it, so it draws in video pixels.
function draw(canvas, cam, box, hand, bones) {
  if (canvas.width !== cam.width || canvas.height !== cam.height) [canvas.width, canvas.height] = [cam.width, cam.height];
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const unit = Math.min(canvas.width, canvas.height) / 240;
  g.lineWidth = 2 * unit;
  g.setLineDash(hand.present ? [] : [8 * unit, 6 * unit]);
  g.strokeStyle = hand.present ? "rgba(80, 220, 120, 0.9)" : "rgba(255, 255, 255, 0.85)";
  g.strokeRect(...box);
  g.setLineDash([]);
  if (!hand.present) return;
  const p = hand.points;
  g.strokeStyle = "rgba(255, 255, 255, 0.9)";
  g.lineWidth = 2.5 * unit;
  g.beginPath();
  for (const [a, b] of bones) {
    g.moveTo(p[a][0], p[a][1]);
    g.lineTo(p[b][0], p[b][1]);
  }
  g.stroke();
  g.fillStyle = "rgba(255, 80, 80, 0.95)";
  for (const [x, y] of p) {
    g.beginPath();
    g.arc(x, y, 3 * unit, 0, 2 * Math.PI);
    g.fill();
  }
}

// Exact copies for tests ({dtype, shape, b64}); only when demo.state.record is set.
function encode(data, shape) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { dtype: "float32", shape: [...shape], b64: btoa(s) };
}
