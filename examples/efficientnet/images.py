"""Natural test images, made deterministically from scikit-image's bundled photos.

scikit-image ships a handful of real photographs (a cat, coffee, an astronaut, a rocket, a
motorcycle, coins, ...) inside its wheel, with no download. `natural_images(n, seed)` turns them
into as many different 224 x 224 RGB views as asked for: a random crop (10-100% of the area,
aspect 3:4 to 4:3), a horizontal flip, a rotation of up to ±25°, and brightness, contrast,
saturation and colour-balance changes, all drawn from one seeded generator, so the same call
gives the same pixels on every machine.
"""

import numpy as np

# skimage.data functions that return real photographs and need no network (pooch) access
COLOUR = ("chelsea", "coffee", "astronaut", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")
GREY = ("camera", "coins", "clock", "moon", "grass", "gravel", "brick", "page", "text")


def photos():
    """[(name, uint8 (H, W, 3))]: every bundled photograph, grey ones repeated to three channels."""
    from skimage import data

    out = [(n, getattr(data, n)()) for n in COLOUR]
    left, right, _ = data.stereo_motorcycle()
    out += [("motorcycle_left", left), ("motorcycle_right", right)]
    out += [(n, np.repeat(getattr(data, n)()[:, :, None], 3, axis=2)) for n in GREY]
    return out


def _view(img, rng, size):
    from skimage.transform import resize, rotate

    h, w = img.shape[:2]
    for _ in range(10):  # a crop of random area and aspect that fits the photo
        area = h * w * rng.uniform(0.1, 1.0)
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        ch, cw = int(round(np.sqrt(area / aspect))), int(round(np.sqrt(area * aspect)))
        if ch <= h and cw <= w:
            break
    else:
        ch = cw = min(h, w)
    top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    x = img[top:top + ch, left:left + cw].astype(np.float32) / 255.0
    if rng.random() < 0.5:
        x = x[:, ::-1]
    angle = rng.uniform(-25, 25) if rng.random() < 0.5 else 0.0
    if angle:
        x = rotate(x, angle, resize=False, mode="reflect", order=1)
    x = resize(x, (size, size), order=1, anti_aliasing=True)
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * rng.uniform(0.5, 1.5)          # saturation
    x = (x - x.mean()) * rng.uniform(0.7, 1.3) + x.mean()  # contrast
    x = x * rng.uniform(0.7, 1.3) * rng.uniform(0.9, 1.1, size=3)  # brightness, colour balance
    return np.clip(np.round(x * 255), 0, 255).astype(np.uint8)


def natural_images(n=256, seed=0, size=224):
    """(n, size, size, 3) uint8: the photos in turn, each a fresh random view; the first len(photos())
    are the whole photos, centre-cropped, so every photo also appears unaltered."""
    from .model import center_crop_resize

    rng = np.random.default_rng(seed)
    base = photos()
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        name, img = base[i % len(base)]
        if i < len(base):
            out[i] = np.clip(np.round(center_crop_resize(img, size)), 0, 255).astype(np.uint8)
        else:
            out[i] = _view(img, rng, size)
    return out
