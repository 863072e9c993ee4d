"""The audio front end's spec (webflow_py/audio_features.py): one SPEC, the same in the JS copy;
the numpy reference does what its docstring says. tests/browser/test_media.py runs the JS
implementation on the same samples and compares."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from webflow import audio_features as af

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES_JS = os.path.join(ROOT, "webflow_js", "media", "features.js")


def test_js_spec_is_the_python_spec():
    """features.js carries SPEC between markers; regenerate it with `python -m webflow.audio_features --js`."""
    src = open(FEATURES_JS, encoding="utf-8").read()
    m = re.search(r"/\*SPEC\*/(.*?)/\*END SPEC\*/", src, re.S)
    assert m, "features.js has no /*SPEC*/ ... /*END SPEC*/ block"
    assert json.loads(m.group(1)) == af.SPEC, "features.js's SPEC differs: run `python -m webflow.audio_features --js` and paste the line"


def test_spec_imports_without_numpy():
    script = "import sys; sys.modules['numpy'] = None; from webflow import audio_features as af; print(len(af.mel_corners()), af.spec_json()[:1])"
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(af.SPEC["n_mels"] + 2), "{"]


def test_mel_filterbank():
    fb = af.mel_filterbank()
    n_bins = af.SPEC["n_fft"] // 2 + 1
    assert fb.shape == (af.SPEC["n_mels"], n_bins)
    corners = np.array(af.mel_corners())
    assert corners[0] == pytest.approx(af.SPEC["fmin"]) and corners[-1] == pytest.approx(af.SPEC["fmax"])
    # evenly spaced in HTK mel
    mels = 2595 * np.log10(1 + corners / 700)
    np.testing.assert_allclose(np.diff(mels), np.diff(mels)[0], rtol=1e-9)
    bins = np.arange(n_bins) * af.SPEC["sample_rate"] / af.SPEC["n_fft"]
    for j, row in enumerate(fb):
        # a triangle: zero outside (f[j], f[j+2]), peak <= 1 near f[j+1], no area normalisation
        assert np.all(row[(bins <= corners[j]) | (bins >= corners[j + 2])] == 0)
        assert 0 < row.max() <= 1
        k = int(np.argmax(row))
        assert abs(bins[k] - corners[j + 1]) <= af.SPEC["sample_rate"] / af.SPEC["n_fft"]
        expect = np.interp(bins, corners[j:j + 3], [0, 1, 0], left=0, right=0)
        np.testing.assert_allclose(row, expect, atol=1e-12)


def test_log_mel_of_a_tone():
    sr = af.SPEC["sample_rate"]
    for f in (300.0, 1000.0, 2500.0, 6000.0):
        x = 0.5 * np.sin(2 * np.pi * f * np.arange(sr) / sr)
        m = af.log_mel(x)
        assert m.dtype == np.float32 and m.shape == (af.n_frames(sr), af.SPEC["n_mels"]) == (98, 40)
        band = int(np.bincount(m.argmax(axis=1)).argmax())
        corners = af.mel_corners()
        assert corners[band] < f < corners[band + 2], (f, band)
    silence = af.log_mel(np.zeros(800))
    np.testing.assert_allclose(silence, np.log(af.SPEC["eps"]), rtol=1e-6)


def test_log_mel_frames_and_window():
    """Frame t is samples [t*hop, t*hop+win) times a periodic Hann window, zero-padded to n_fft."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(5000)
    s = af.SPEC
    t = 7
    seg = x[t * s["hop_length"]:t * s["hop_length"] + s["win_length"]]
    win = np.hanning(s["win_length"] + 1)[:-1]  # periodic Hann
    power = np.abs(np.fft.rfft(seg * win, n=s["n_fft"])) ** 2
    want = np.log(af.mel_filterbank() @ power + s["eps"])
    np.testing.assert_allclose(af.log_mel(x)[t], want, rtol=1e-5, atol=1e-5)
    assert af.n_frames(399) == 0 and af.n_frames(400) == 1 and af.n_frames(559) == 1 and af.n_frames(560) == 2


@pytest.mark.parametrize("rate", [44100, 48000, 22050, 32000])
def test_resample_keeps_tones_and_removes_aliases(rate):
    t = np.arange(rate) / rate
    y = af.resample(0.5 * np.sin(2 * np.pi * 1000 * t), rate)
    assert y.dtype == np.float32
    assert abs(len(y) - 16000) < 40
    steady = y[200:-200]
    n = np.arange(200, 200 + len(steady)) / 16000
    np.testing.assert_allclose(steady, 0.5 * np.sin(2 * np.pi * 1000 * n), atol=2e-3)  # also: no time shift
    # DC passes exactly (taps are normalised), above 8 kHz is removed
    np.testing.assert_allclose(af.resample(np.ones(rate), rate)[100:-100], 1.0, atol=1e-6)
    if rate > 2 * 9000:
        alias = af.resample(0.5 * np.sin(2 * np.pi * 9000 * t), rate)[200:-200]
        assert np.abs(alias).max() < 5e-3


def test_resample_is_causal_and_streamable():
    """Output n depends only on input up to base + floor(frac + half): a prefix of the input gives
    a prefix of the output (what lets the browser compute it block by block)."""
    x = np.random.default_rng(1).standard_normal(20000)
    full = af.resample(x, 44100)
    for cut in (1000, 5003, 12345):
        part = af.resample(x[:cut], 44100)
        np.testing.assert_array_equal(part, full[:len(part)])
        assert len(af.resample(x[:cut + 100], 44100)) > len(part)


def test_resample_equal_rates_is_a_copy():
    x = np.random.default_rng(2).standard_normal(1000).astype(np.float32)
    np.testing.assert_array_equal(af.resample(x, 16000), x)


def test_stereo_is_the_mean_of_channels():
    rng = np.random.default_rng(3)
    st = rng.standard_normal((8000, 2))
    np.testing.assert_array_equal(af.features(st, 48000), af.log_mel(af.resample(st.mean(axis=1), 48000)))
