// Rock, paper, scissors with your hand: the shared hand pipeline (../common/hands.js: camera ->
// hand_landmark_lite on the GPU -> landmarks and gesture in Python) drives a match whose rules
// live in Python too (demo_site/py/hands/game.py). The page only draws what they return.
//
// URL options (tests, bench): ?seed=N fixes the computer's moves; ?exact=1 times each stage
// exactly (the GPU is waited for after each; slower). window.__demo gets {gesture, game} plus
// what hands.js keeps (demo.state.hands); window.__demoKit.hands is startHands' object (its camera's stats).

import { startDemo } from "../common/demo.js";
import { HAND_MODEL, startHands } from "../common/hands.js";

const $ = (id) => document.getElementById(id);
const NAMES = { rock: "Rock", paper: "Paper", scissors: "Scissors", none: "?" };
const CALLS = ["Scissors…", "Paper…", "Rock…"]; // by whole seconds left: 2+ rock, 1+ paper, 0+ scissors
const TICK_MS = 100;
const RESULTS = { win: "You win the round!", lose: "The computer wins the round.", tie: "A tie.", missed: "No gesture seen: this round again." };

async function main() {
  const demo = await startDemo({ title: "Rock, paper, scissors", models: [HAND_MODEL], python: ["hands"] });
  try {
    await play(demo);
  } catch (e) {
    if (e?.name !== "MediaError") demo.error(e, "The game could not start"); // demo.camera has shown its own
  }
}

async function play(demo) {
  const query = new URLSearchParams(location.search);
  const { hands } = demo.py;
  const n = parseInt(query.get("seed"), 10);
  const seed = Number.isFinite(n) ? { seed: n } : {}; // none: Python seeds from the system
  const match = hands.game.Match.callKwargs({ ...seed, wins: 3 });
  const state = Object.assign(demo.state, { gesture: "none", game: null });
  const now = () => performance.now() / 1000;

  function show(game) {
    state.game = game;
    $("score-player").textContent = game.score.player;
    $("score-computer").textContent = game.score.computer;
    $("score-ties").textContent = game.score.ties;
    const last = game.last;
    const start = $("start");
    start.disabled = game.phase === "countdown" || game.phase === "result";
    start.textContent = game.phase === "over" ? "Play again" : "Start a match";
    if (game.phase === "countdown") {
      $("call").textContent = CALLS[Math.min(2, Math.floor(game.seconds_left))];
      $("you").textContent = $("computer").textContent = "–";
      $("result").textContent = `Round ${game.round}: make your move on "shoot"`;
      $("result").className = "result";
    } else if (last) {
      $("call").textContent = game.phase === "over" ? (game.winner === "player" ? "You won the match!" : "The computer won the match.") : "Shoot!";
      $("you").textContent = last.player ? NAMES[last.player] : "?";
      $("computer").textContent = last.computer ? NAMES[last.computer] : "?";
      $("result").textContent = RESULTS[last.outcome];
      $("result").className = `result ${last.outcome}`;
    }
  }

  // The game runs on its own clock (TICK_MS), with the newest frame's gesture: the countdown
  // and "shoot" stay on time however slowly frames come (a slow GPU: one a second).
  function update() {
    const r = match.update(now(), state.gesture);
    const game = r.toJs({ dict_converter: Object.fromEntries });
    r.destroy();
    if (game.phase !== "ready") show(game);
  }

  $("start").addEventListener("click", () => {
    match.start(now()).destroy();
    update();
  });

  demo.hands = await startHands(demo, {
    stage: $("stage"),
    exact: query.get("exact") === "1",
    onHand(hand) {
      state.gesture = hand.gesture;
      $("you-live").textContent = NAMES[hand.gesture];
      $("live-text").textContent = !hand.present ? "show your hand in the box"
        : hand.gesture === "none" ? `a ${hand.handedness} hand, no gesture yet` : `${hand.gesture} (${hand.handedness} hand)`;
    },
  });
  setInterval(update, TICK_MS);
  $("start").disabled = false;
}

main().catch(() => {}); // startDemo has shown the error on the page
