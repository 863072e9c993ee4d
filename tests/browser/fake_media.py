"""Files for Chromium's fake camera and microphone (--use-file-for-fake-video/audio-capture),
written with numpy, and how the browser decodes them.

Chromium (156 here) decodes a y4m's 4:2:0 frames as BT.709 limited range with chroma upsampled
bilinearly (centre sited); read_y4m follows that, or the colour space the page reports.
"""

import wave

import numpy as np

MATRICES = {"bt709": (0.2126, 0.0722), "smpte170m": (0.299, 0.114), "bt470bg": (0.299, 0.114)}


def write_y4m(path, frames, fps=30, kr=0.2126, kb=0.0722):
    """frames: [H, W, 3] RGB in 0..255 (even H, W). 4:2:0 (C420jpeg, chroma averaged over 2x2),
    limited range, matrix (kr, kb). The fake camera loops the file."""
    frames = list(frames)
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            r, g, b = (np.asarray(rgb, np.float64)[..., i] / 255 for i in range(3))
            y = kr * r + (1 - kr - kb) * g + kb * b
            cb, cr = (b - y) / (2 * (1 - kb)), (r - y) / (2 * (1 - kr))
            sub = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))  # noqa: E731
            f.write(b"FRAME\n")
            for plane in (16 + 219 * y, 128 + 224 * sub(cb), 128 + 224 * sub(cr)):
                f.write(np.clip(np.round(plane), 0, 255).astype(np.uint8).tobytes())


def _upsample(c, axis):
    """Chroma to full resolution, bilinear, samples centred on their 2x2 blocks, edges clamped."""
    n = c.shape[axis]
    x = (np.arange(2 * n) + 0.5) / 2 - 0.5
    x0 = np.floor(x).astype(int)
    f = (x - x0).reshape([-1 if a == axis else 1 for a in range(c.ndim)])
    return np.take(c, np.clip(x0, 0, n - 1), axis) * (1 - f) + np.take(c, np.clip(x0 + 1, 0, n - 1), axis) * f


def read_y4m(path, matrix="bt709", full_range=False):
    """The frames as the browser decodes them: [N, H, W, 3] RGB floats in 0..255."""
    kr, kb = MATRICES[matrix]
    data = open(path, "rb").read()
    header, rest = data.split(b"\n", 1)
    fields = {t[:1]: t[1:] for t in header.split()[1:]}
    w, h = int(fields[b"W"]), int(fields[b"H"])
    size, frames = w * h * 3 // 2, []
    while rest:
        rest = rest.split(b"\n", 1)[1]
        buf, rest = np.frombuffer(rest[:size], np.uint8).astype(np.float64), rest[size:]
        y = buf[:w * h].reshape(h, w)
        cb, cr = (_upsample(_upsample(p.reshape(h // 2, w // 2), 0), 1) for p in (buf[w * h:w * h * 5 // 4], buf[w * h * 5 // 4:]))
        if full_range:
            ey, pb, pr = y / 255, (cb - 128) / 255, (cr - 128) / 255
        else:
            ey, pb, pr = (y - 16) / 219, (cb - 128) / 224, (cr - 128) / 224
        r, b = ey + 2 * (1 - kr) * pr, ey + 2 * (1 - kb) * pb
        g = (ey - kr * r - kb * b) / (1 - kr - kb)
        frames.append(np.clip(np.stack([r, g, b], -1), 0, 1) * 255)
    return np.stack(frames)


def write_wav(path, samples, rate=48000):
    """Mono samples in -1..1 as 16-bit PCM (the fake microphone loops the file)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.round(np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
