"""A seeded synthesizer of the sound classes the sound demo recognises (numpy only).

    event(label, rng)          -> (clean samples, params): one sound of the class, no noise
    clip(label, rng)           -> 1 s of audio: the event at a random time, level and noise
    dataset(n, seed)           -> ([N, samples] float32, [N] class indices), n clips per class
    sequence(labels, rng)      -> a recording of events with gaps, and where each one is

The classes, each drawn with random pitch, duration, timing, level, harmonics and noise:

    background  noise only (white, pink, brown or mains hum, at any level), near silence, a
                stream starting (silence, then noise), or the edge of a tonal sound
    rising      a whistle sweeping up (x1.5 to x2.6 in pitch), 0.35 to 0.8 s
    falling     the same sweeping down
    whistle     a steady whistle (vibrato and drift under 2%), 0.35 to 0.9 s
    clap        2 to 5 claps (short decaying noise bursts) 80 to 250 ms apart
    hum         a low harmonic tone (90 to 220 Hz, 4 to 10 harmonics), 0.35 to 0.9 s

Up to 40% of an event may fall outside its clip, as in a sliding window over live audio; a
window holding only 5 to 20% of a whistle or hum is background (a sound counts once most of it
is in view, so the page acts once per sound, not on its edges). Everything is drawn from the
numpy Generator it is given, so a seed fixes every sample.
"""

import numpy as np

CLASSES = ("background", "rising", "falling", "whistle", "clap", "hum")
RATE = 16000  # webflow.audio_features.SPEC["sample_rate"]: training needs no resampling
SECONDS = 1.0


def _envelope(n, rate, rng):
    """Attack (5 to 40 ms) and release (10 to 40 ms) ramps, so events start and stop like real ones."""
    env = np.ones(n)
    attack, release = (max(1, min(int(rng.uniform(lo, 0.04) * rate), n // 2)) for lo in (0.005, 0.01))
    env[:attack] = np.linspace(0, 1, attack)
    env[n - release:] = np.linspace(1, 0, release)
    return env


def _tone(freq, rate, harmonics):
    """A tone following the instantaneous frequency `freq` (Hz per sample) with harmonic
    amplitudes `harmonics` (the first is the fundamental); partials above 7.8 kHz are dropped."""
    phase = 2 * np.pi * np.cumsum(freq) / rate
    out = np.zeros(len(freq))
    for h, a in enumerate(harmonics, start=1):
        out += a * np.sin(h * phase) * (h * freq < 0.49 * rate)
    return out


def _vibrato(n, rate, rng, depth):
    t = np.arange(n) / rate
    return 1 + depth * np.sin(2 * np.pi * rng.uniform(3, 7) * t + rng.uniform(0, 2 * np.pi))


def _whistle_harmonics(rng):
    return [1.0, rng.uniform(0, 0.3), rng.uniform(0, 0.1)]


def _sweep(rng, rate, up):
    dur = rng.uniform(0.35, 0.8)
    n = int(dur * rate)
    lo = rng.uniform(500, 1500)
    hi = min(lo * rng.uniform(1.5, 2.6), 3800.0)
    f0, f1 = (lo, hi) if up else (hi, lo)
    shape = np.linspace(0, 1, n) ** rng.uniform(0.7, 1.4)  # a little curvature either way
    freq = f0 * (f1 / f0) ** shape * _vibrato(n, rate, rng, rng.uniform(0, 0.01))
    return _tone(freq, rate, _whistle_harmonics(rng)) * _envelope(n, rate, rng), {"f0": f0, "f1": f1, "duration": dur}


def _whistle(rng, rate):
    dur = rng.uniform(0.35, 0.9)
    n = int(dur * rate)
    f = rng.uniform(600, 3000)
    drift = 1 + rng.uniform(-0.02, 0.02) * np.linspace(0, 1, n)
    freq = f * drift * _vibrato(n, rate, rng, rng.uniform(0, 0.015))
    return _tone(freq, rate, _whistle_harmonics(rng)) * _envelope(n, rate, rng), {"f0": f, "f1": f * drift[-1], "duration": dur}


def _clap(rng, rate):
    count = int(rng.integers(2, 6))
    gaps = rng.uniform(0.08, 0.25, count - 1)
    onsets = np.concatenate([[0.0], np.cumsum(gaps)])
    decay = rng.uniform(0.005, 0.025)
    n = int((onsets[-1] + 8 * decay) * rate)
    out = np.zeros(n)
    for t0 in onsets:
        m = int(8 * decay * rate)
        burst = rng.standard_normal(m)
        if rng.random() < 0.5:  # duller claps: a first difference brightens, a running mean dulls
            burst = np.convolve(burst, np.ones(3) / 3, mode="same")
        else:
            burst = np.diff(burst, prepend=0.0)
        burst *= np.exp(-np.arange(m) / (decay * rate)) * rng.uniform(0.6, 1.0)
        i = int(t0 * rate)
        out[i:i + m] += burst[:n - i]
    return out, {"onsets": onsets.tolist(), "duration": n / rate}


def _hum(rng, rate):
    dur = rng.uniform(0.35, 0.9)
    n = int(dur * rate)
    f = rng.uniform(90, 220)
    tilt = rng.uniform(0.5, 1.5)
    harmonics = [h ** -tilt * rng.uniform(0.5, 1.0) for h in range(1, int(rng.integers(4, 11)) + 1)]
    freq = f * _vibrato(n, rate, rng, rng.uniform(0, 0.02))
    params = {"f0": f, "harmonics": len(harmonics), "duration": dur}
    return _tone(freq, rate, harmonics) * _envelope(n, rate, rng), params


_SOUNDS = {
    "rising": lambda rng, rate: _sweep(rng, rate, up=True),
    "falling": lambda rng, rate: _sweep(rng, rate, up=False),
    "whistle": _whistle,
    "clap": _clap,
    "hum": _hum,
}


def event(label, rng, rate=RATE):
    """One clean sound of class `label` (peak 1; background: empty) and its parameters."""
    if label == "background":
        return np.zeros(0), {"duration": 0.0}
    if label not in _SOUNDS:
        raise ValueError(f"no sound class {label!r} (classes: {', '.join(CLASSES)})")
    x, params = _SOUNDS[label](rng, rate)
    return x / max(np.abs(x).max(), 1e-9), params


def noise(n, rng, rate=RATE):
    """Unit-RMS background noise of a random kind: white, pink (1/f), brown (1/f^2) or mains hum."""
    kind = rng.choice(["white", "pink", "brown", "mains"])
    if kind == "mains":
        t = np.arange(n) / rate
        base = rng.choice([50.0, 60.0])
        x = sum(rng.uniform(0.2, 1) / h * np.sin(2 * np.pi * base * h * t + rng.uniform(0, 6.3)) for h in range(1, 6))
        x = x + 0.3 * rng.standard_normal(n) * x.std()
    else:
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.fft.rfftfreq(n, 1 / rate), 20.0)
        x = np.fft.irfft(spectrum * f ** -{"white": 0.0, "pink": 0.5, "brown": 1.0}[kind], n)
    return x / max(x.std(), 1e-12)


TONAL = ("rising", "falling", "whistle", "hum")


def _place(x, n, rng, edge=False):
    """x in n samples of silence: at least 60% of it inside; with edge, only 5 to 20% of it, at
    the start or the end (what a sliding window holds just before or after a sound)."""
    m = x.size
    if edge:
        k = int(rng.uniform(0.05, 0.2) * m)
        start = k - m if rng.random() < 0.5 else n - k
    else:
        start = int(rng.uniform(-0.4 * m, max(n - 0.6 * m, 1)))
    out = np.zeros(n)
    a, b = max(start, 0), min(start + m, n)
    out[a:b] = x[a - start:b - start]
    return out


def _background(n, rng, rate):
    """Noise of any kind alone; near silence; digital silence turning into noise (a stream
    starting: the page's window is silence before the first samples); or the edge of a tonal
    sound in noise (a sound counts once most of it is in the window)."""
    kind = rng.choice(["noise", "quiet", "start", "edge"], p=[0.45, 0.1, 0.15, 0.3])
    if kind == "quiet":
        return 1e-4 * rng.standard_normal(n)
    if kind == "start":
        return noise(n, rng, rate) * (np.arange(n) >= int(rng.uniform(0.1, 0.9) * n))
    if kind == "edge":
        x = _place(event(str(rng.choice(TONAL)), rng, rate)[0], n, rng, edge=True)
        return x + noise(n, rng, rate) * rng.uniform(0.02, 0.3)
    return noise(n, rng, rate)


def clip(label, rng, seconds=SECONDS, rate=RATE):
    """`seconds` of audio of class `label` (float32): the event placed so that at least 60% of it
    lies inside, with noise 3 to 30 dB below it (background: see _background), at an overall
    level from -40 to -3 dBFS peak."""
    n = int(seconds * rate)
    if label == "background":
        out = _background(n, rng, rate)
    else:
        x, _ = event(label, rng, rate)
        out = _place(x, n, rng) + noise(n, rng, rate) * np.sqrt(np.mean(x ** 2)) * 10 ** (-rng.uniform(3, 30) / 20)
    out *= 10 ** (rng.uniform(-40, -3) / 20) / max(np.abs(out).max(), 1e-9)
    return out.astype(np.float32)


def dataset(n_per_class, seed, seconds=SECONDS, rate=RATE):
    """n_per_class clips of every class, shuffled: (x [N, samples] float32, y [N] int64)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(len(CLASSES)), n_per_class))
    x = np.stack([clip(CLASSES[k], rng, seconds, rate) for k in y])
    return x, y.astype(np.int64)


def sequence(labels, rng, gap=1.0, level=0.5, snr_db=25, rate=RATE):
    """A recording: each event of `labels` followed by `gap` seconds of quiet (with the first
    gap also before the first event), peak `level`, white noise `snr_db` below the events.
    Returns (samples float32, [(label, start s, end s)])."""
    parts, spans, t = [np.zeros(int(gap * rate))], [], gap
    for label in labels:
        x, _ = event(label, rng, rate)
        parts += [x, np.zeros(int(gap * rate))]
        spans.append((label, t, t + x.size / rate))
        t += (x.size + int(gap * rate)) / rate
    out = np.concatenate(parts) * level
    out += rng.standard_normal(out.size) * level * 0.3 * 10 ** (-snr_db / 20)
    return out.astype(np.float32), spans
