"""The sound demo without a browser: the synthesizer (examples/sound/generate.py) is seeded and
its classes are what they claim; the trained model (demo_site/sound/demo.py's cached build
steps, trained here when the cache is cold), converted by webflow and run on numpy, names fresh
clips and the sounds of a recording streamed the way the page streams it; and the page's Python
(demo_site/py/sound) smooths, debounces and moves the controls as documented.
"""

import os
import sys

import numpy as np
import pytest

import webflow
from demo_site import build as demo_build
from webflow import audio_features as af

ROOT = demo_build.ROOT
sys.path.insert(0, os.path.join(ROOT, "examples", "sound"))
sys.path.insert(0, os.path.join(ROOT, "demo_site", "py"))
import generate  # noqa: E402
import sound  # noqa: E402  (demo_site/py/sound: the page's own Python)

RATE = generate.RATE
FRESH_SEED = 1234  # training uses seeds 1 and 2
ACCURACY_BAR, CLASS_BAR = 0.95, 0.9


def peak_hz(x, rate=RATE):
    """The strongest frequency of x (Hann-windowed FFT, parabolic peak)."""
    n = 1 << int(np.ceil(np.log2(8 * len(x))))
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    k = int(np.argmax(mag[1:-1])) + 1
    a, b, c = np.log(mag[k - 1:k + 2] + 1e-12)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / n


# --- the synthesizer -----------------------------------------------------------------------------

def test_generator_is_seeded():
    x1, y1 = generate.dataset(4, seed=7)
    x2, y2 = generate.dataset(4, seed=7)
    x3, _ = generate.dataset(4, seed=8)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert x1.shape == (4 * len(generate.CLASSES), RATE) and x1.dtype == np.float32
    assert sorted(np.bincount(y1)) == [4] * len(generate.CLASSES)
    assert np.abs(x1).max() <= 10 ** (-3 / 20) + 1e-6  # peak at most -3 dBFS


@pytest.mark.parametrize("seed", range(8))
def test_sweeps_and_whistles_do_what_they_say(seed):
    """Pitch at the start and the end of each whistle (its first and last fifth)."""
    rng = np.random.default_rng(seed)
    for label in ("rising", "falling", "whistle"):
        x, p = generate.event(label, rng)
        fifth = len(x) // 5
        start, end = peak_hz(x[:fifth]), peak_hz(x[-fifth:])
        ratio = end / start
        if label == "rising":
            assert ratio > 1.3, (label, start, end, p)
        elif label == "falling":
            assert ratio < 1 / 1.3, (label, start, end, p)
        else:
            assert abs(ratio - 1) < 0.05 and abs(start / p["f0"] - 1) < 0.05, (label, start, end, p)


@pytest.mark.parametrize("seed", range(8))
def test_hums_are_low_and_harmonic_and_claps_are_bursts(seed):
    rng = np.random.default_rng(seed)
    x, p = generate.event("hum", rng)
    mag = np.abs(np.fft.rfft(x)) ** 2
    hz = np.fft.rfftfreq(len(x), 1 / RATE)
    assert mag[hz > 2000].sum() < 0.05 * mag.sum()  # low
    h = peak_hz(x) / p["f0"]
    assert abs(h - round(h)) < 0.05 and 1 <= round(h) <= p["harmonics"], (h, p)  # the peak is a harmonic of f0
    x, p = generate.event("clap", rng)
    rms = lambda a, b: np.sqrt(np.mean(x[int(a * RATE):int(b * RATE)] ** 2))  # noqa: E731
    ends = p["onsets"][1:] + [p["duration"]]
    for t, nxt in zip(p["onsets"], ends):  # loud at each onset, nearly silent just before the next
        assert rms(t, t + 0.005) > 5 * rms(nxt - 0.005, nxt), (t, nxt, p)
    assert 2 <= len(p["onsets"]) <= 5


# --- the trained model ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model():
    demos = dict(demo_build.discover())
    folder = demos["sound"].models(demo_build.Kit("sound", log=lambda m: None))["sound"]
    return webflow.load(folder)


def test_model_metadata_is_what_the_page_needs(model):
    meta = model.spec.metadata
    assert meta["labels"] == list(generate.CLASSES)
    assert meta["window_frames"] == af.n_frames(RATE) == 98
    assert meta["audio_features"] == af.SPEC
    assert set(meta["labels"]) == set(sound.ACTIONS) | {sound.BACKGROUND}
    assert [t.shape[1:] for t in model.inputs] == [(1, 98, af.SPEC["n_mels"])]


def test_model_names_fresh_clips(model):
    x, y = generate.dataset(40, seed=FRESH_SEED)
    feats = np.stack([af.log_mel(c) for c in x])[:, None]
    pred = model.predict({"logmel": feats})["logits"].argmax(1)
    per_class = {c: float((pred[y == k] == k).mean()) for k, c in enumerate(generate.CLASSES)}
    print(f"fresh clips: accuracy {(pred == y).mean():.3f}, per class {per_class}")
    assert (pred == y).mean() >= ACCURACY_BAR, per_class
    assert min(per_class.values()) >= CLASS_BAR, per_class


def stream(model, samples, step=10):
    """What the page does, in CPython: log-mel of the recording (silence before it), the model on
    the newest 98 frames every `step` frames, the Listener on its logits."""
    feats = af.log_mel(samples)
    window = model.spec.metadata["window_frames"]
    padded = np.concatenate([np.full((window, feats.shape[1]), np.log(af.SPEC["eps"]), np.float32), feats])
    ends = range(window + step, len(padded) + 1, step)
    batch = np.stack([padded[e - window:e] for e in ends])[:, None]
    logits = model.predict({"logmel": batch})["logits"]
    listener = sound.Listener(model.spec.metadata["labels"])
    for run, row in enumerate(logits):
        listener.step(row.tolist(), run)
    return listener


@pytest.mark.parametrize("seed", [0, 1])
def test_a_streamed_recording_gives_one_action_per_sound(model, seed):
    labels = ["rising", "clap", "falling", "hum", "whistle", "clap", "rising"]
    x, spans = generate.sequence(labels, np.random.default_rng(seed))
    listener = stream(model, x)
    assert [e[1] for e in listener.events] == labels, listener.events
    fired_at = [(run + 1) * 10 * af.SPEC["hop_length"] / RATE for run, _, _ in listener.events]  # s of audio heard when it fired
    for t, (_, start, end) in zip(fired_at, spans):
        assert start < t < end + 0.6, (t, start, end)
    assert listener.board.state() == {"height": 0.5 + sound.STEP, "light": False, "colour": sound.COLOURS[1]}


# --- the page's Python ---------------------------------------------------------------------------

LABELS = list(generate.CLASSES)


def logits_for(label, sure=4.0):
    return [sure if c == label else 0.0 for c in LABELS]


def test_listener_fires_once_per_sound_after_hold():
    ls = sound.Listener(LABELS)
    steps = [ls.step(logits_for(c)) for c in ["background"] * 3 + ["rising"] * 6]
    # run 3: smoothed rising = (2 background + 1 rising) / 3 < THRESHOLD; from run 4 above it, so
    # with HOLD = 2 it fires on run 5, once
    assert [s["event"] for s in steps] == [None] * 5 + ["rising"] + [None] * 3
    assert abs(steps[3]["probs"][1] - np.exp(4) / (np.exp(4) + 5)) < 1e-12
    assert steps[-1]["decision"] == "rising" and steps[-1]["board"]["height"] == 0.7
    assert steps[0]["smoothed"] == steps[0]["probs"]


def test_listener_ignores_blips_and_refires_after_a_pause():
    ls = sound.Listener(LABELS)
    for c in ["clap"] + ["background"] * 4:  # one confident run is not a sound
        assert ls.step(logits_for(c))["event"] is None
    fired = [ls.step(logits_for(c), run)["event"] for run, c in enumerate(["clap"] * 4 + ["background"] * 4 + ["clap"] * 4)]
    assert [f for f in fired if f] == ["clap", "clap"]
    assert ls.board.light is False  # toggled twice
    assert [e[1:] for e in ls.events] == [("clap", "light"), ("clap", "light")]


def test_board_actions():
    b = sound.Board()
    for a in ["up"] * 4:
        b.apply(a)
    assert b.height == 1.0
    b.apply("down")
    assert b.height == 0.8
    b.apply("centre")
    b.apply("colour")
    b.apply("light")
    assert b.state() == {"height": 0.5, "light": True, "colour": sound.COLOURS[1]}
    with pytest.raises(ValueError, match="unknown action 'jump'"):
        b.apply("jump")


def test_listener_refuses_labels_it_cannot_act_on():
    with pytest.raises(ValueError, match="expected 'background'"):
        sound.Listener(["rising", "sneeze", "background"])
    with pytest.raises(ValueError, match="2 logits for 6 labels"):
        sound.Listener(LABELS).step([0.0, 1.0])
