"""The audio front end, defined once: microphone samples -> 16 kHz -> log-mel spectrogram.

SPEC below is the only place its numbers live. This module is the numpy reference (use it to
make training features); webflow_js/media/features.js is the browser's implementation and
carries a copy of SPEC between /*SPEC*/ markers, which tests/test_audio_features.py checks
against this one (regenerate it with `python -m webflow.audio_features --js`). A browser test
runs the JS code on the same samples and compares (atol 1e-4 on log-mel values).

Resampling (any rate -> sample_rate): windowed-sinc interpolation. Output sample n sits at
input position t = n * rate_in / rate_out = base + frac (base, frac from integer arithmetic,
so both implementations agree on the phase). It is sum_k x[base + k] * h(k - frac) over
|k - frac| <= half, where h(d) = sinc(2 fc d) * hann(d / half), fc = cutoff / rate_in (cycles
per input sample), half = zero_crossings / (2 fc) input samples, hann(u) = 0.5 (1 + cos(pi u)),
and the taps of each phase are divided by their sum (unit gain at DC). Samples before the
first are 0; output n exists once input base + floor(frac + half) has arrived (the streaming
and the batch versions give the same samples). Equal rates: a copy. Stereo: the mean of the
channels, before resampling.

Log-mel: frame t covers samples [t * hop, t * hop + win) (no centre padding). It is multiplied
by a periodic Hann window of length win (w[n] = 0.5 - 0.5 cos(2 pi n / win)), zero-padded to
n_fft, and |rfft|^2 (power) is taken on n_fft / 2 + 1 bins; bin k is at k * sample_rate / n_fft
Hz. n_mels triangular filters (HTK mel scale: mel = 2595 log10(1 + hz / 700); peak 1, no area
normalisation) have their corners at n_mels + 2 points spaced evenly in mel from fmin to fmax,
weights computed in Hz. Output: ln(mel energy + eps), shape [frames, n_mels], float32.
"""

import math

SPEC = {
    "sample_rate": 16000,
    "n_fft": 512,
    "win_length": 400,
    "hop_length": 160,
    "window": "hann_periodic",
    "n_mels": 40,
    "fmin": 20.0,
    "fmax": 7600.0,
    "mel_scale": "htk",
    "power": 2.0,
    "log": "ln",
    "eps": 1e-6,
    "resample": {"method": "windowed_sinc", "window": "hann", "cutoff": 7600.0, "zero_crossings": 16, "normalize": "sum"},
}


def hz_to_mel(hz):
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_corners(spec=SPEC):
    """The n_mels + 2 corner frequencies (Hz) of the triangular filters (pure Python)."""
    lo, hi, n = hz_to_mel(spec["fmin"]), hz_to_mel(spec["fmax"]), spec["n_mels"]
    return [mel_to_hz(lo + i * (hi - lo) / (n + 1)) for i in range(n + 2)]


def mel_filterbank(spec=SPEC):
    """[n_mels, n_fft // 2 + 1] float64 weights."""
    np = _np()
    f = np.asarray(mel_corners(spec))
    bins = np.arange(spec["n_fft"] // 2 + 1) * spec["sample_rate"] / spec["n_fft"]
    lower = (bins[None, :] - f[:-2, None]) / (f[1:-1, None] - f[:-2, None])
    upper = (f[2:, None] - bins[None, :]) / (f[2:, None] - f[1:-1, None])
    return np.maximum(0.0, np.minimum(lower, upper))


def window(spec=SPEC):
    np = _np()
    n = spec["win_length"]
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def n_frames(n_samples, spec=SPEC):
    return max(0, (n_samples - spec["win_length"]) // spec["hop_length"] + 1)


def log_mel(samples, spec=SPEC):
    """16 kHz mono samples (1-D) -> [frames, n_mels] float32 log-mel values."""
    np = _np()
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    win, hop, n = spec["win_length"], spec["hop_length"], n_frames(x.size, spec)
    idx = np.arange(n)[:, None] * hop + np.arange(win)[None, :]
    frames = x[idx] * window(spec)[None, :]
    power = np.abs(np.fft.rfft(frames, n=spec["n_fft"], axis=1)) ** spec["power"]
    mel = power @ mel_filterbank(spec).T
    return np.log(mel + spec["eps"]).astype(np.float32)


def _phase_taps(frac, half, fc):
    """Tap offsets k (ints) and normalised weights h(k - frac) of one phase."""
    np = _np()
    k = np.arange(math.ceil(frac - half), math.floor(frac + half) + 1)
    d = k - frac
    w = np.sinc(2 * fc * d) * (0.5 + 0.5 * np.cos(np.pi * d / half))
    return k, w / w.sum()


def resample(samples, rate_in, spec=SPEC):
    """Mono samples at rate_in -> float32 samples at spec['sample_rate'] (see the module doc)."""
    np = _np()
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    rate_out = spec["sample_rate"]
    rate_in = int(rate_in)
    if rate_in == rate_out:
        return x.astype(np.float32)
    r = spec["resample"]
    fc = r["cutoff"] / rate_in
    half = r["zero_crossings"] / (2 * fc)
    n = np.arange(0, int(x.size * rate_out / rate_in) + 2, dtype=np.int64)
    base, rem = (n * rate_in) // rate_out, (n * rate_in) % rate_out
    last = base + np.floor(rem / rate_out + half).astype(np.int64)
    n, base, rem = n[last < x.size], base[last < x.size], rem[last < x.size]
    out = np.zeros(n.size)
    padded = np.concatenate([np.zeros(int(math.ceil(half)) + 1), x])
    shift = int(math.ceil(half)) + 1
    for p in np.unique(rem):
        sel = rem == p
        k, w = _phase_taps(p / rate_out, half, fc)
        out[sel] = padded[base[sel][:, None] + k[None, :] + shift] @ w
    return out.astype(np.float32)


def features(samples, rate_in, spec=SPEC):
    """Microphone samples ([n] mono or [n, channels]) at rate_in -> log-mel features."""
    np = _np()
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return log_mel(resample(x, rate_in, spec), spec)


def spec_json():
    import json

    return json.dumps(SPEC, sort_keys=True)


def _np():
    from ._np import require_numpy

    return require_numpy("webflow.audio_features")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--js"]:
        print(f"export const SPEC = /*SPEC*/ {spec_json()} /*END SPEC*/;")
    else:
        print(spec_json())
