"""The digits demo's Python: the page runs it in Pyodide (no numpy there), the tests in CPython.
One implementation of the drawing -> model input step, so the page and the tests cannot differ.

scikit-learn's digits are UCI "optdigits": each handwritten digit was scaled to fill a 32x32
box, binarized, and cut into 4x4 blocks; an 8x8 value is the count of inked pixels in its
block (0..16), and examples/digits/train.py divides it by 16. to_8x8 does the same to a drawing:

1. ink: a pixel of the chosen channel (alpha: the page draws on a transparent canvas) >= INK;
2. box: the square of side max(ink width, ink height) centred on the ink's bounding box, so the
   digit fills the box in its longer direction (as in the data: every digit spans all 8 rows,
   and is narrower than tall), centred in the other;
3. 32x32 cells: a cell holds the pixels whose centres fall in it (a cell smaller than a pixel:
   the pixel under its centre; pixels past the canvas edge are blank); it is inked when at
   least half its pixels are;
4. 8x8: inked cells counted per 4x4 block, divided by 16.
"""

import math

GRID = 32  # the box the digit is normalized to
BLOCK = 4  # cells per 8x8 value, in each direction
SIZE = GRID // BLOCK
INK = 128  # channel values at or above this are ink

_BINARY = bytes(1 if v >= INK else 0 for v in range(256))


def ink_mask(pixels, width, height, channel=3, stride=4):
    """Interleaved 8-bit pixels (canvas RGBA: channel 3 of 4; a single plane: 0 of 1) -> bytes of
    0/1, one per pixel, row by row. `pixels`: bytes-like, or a JS typed array in the page."""
    if hasattr(pixels, "to_bytes"):  # a JS Uint8ClampedArray under Pyodide: one copy
        pixels = pixels.to_bytes()
    plane = bytes(memoryview(pixels)[channel::stride])
    if len(plane) != width * height:
        raise ValueError(f"{len(plane)} pixels in channel {channel} of {stride}, a {width}x{height} image has {width * height}")
    return plane.translate(_BINARY)


def ink_box(mask, width, height):
    """Bounding box of the ink, (x0, y0, x1, y1) with exclusive ends; None for a blank image."""
    rows = [y for y in range(height) if mask.find(1, y * width, (y + 1) * width) >= 0]
    if not rows:
        return None
    x0 = min(mask.find(1, y * width, (y + 1) * width) - y * width for y in rows)
    x1 = max(mask.rfind(1, y * width, (y + 1) * width) - y * width for y in rows) + 1
    return x0, rows[0], x1, rows[-1] + 1


def _spans(start, side, limit):
    """GRID pixel ranges [a, b) along one axis of the box [start, start + side), clipped to
    [0, limit); with the cell's full pixel count (the area past the edge counts as blank)."""
    out = []
    for k in range(GRID):
        lo, hi = start + k * side / GRID, start + (k + 1) * side / GRID
        a, b = _ceil(lo - 0.5), _ceil(hi - 0.5)  # pixels whose centre p + 0.5 lies in [lo, hi)
        if b <= a:  # a cell smaller than a pixel: the pixel under its centre
            a = int((lo + hi) / 2 // 1)
            b = a + 1
        out.append((max(a, 0), min(b, limit), b - a))
    return out


def _ceil(v):
    i = int(v // 1)
    return i if i == v else i + 1


def to_grid(mask, width, height):
    """The 32x32 binarized box as a list of 32 lists of 0/1; None for a blank image."""
    box = ink_box(mask, width, height)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    cols = _spans((x0 + x1 - side) / 2, side, width)
    grid = []
    for ya, yb, nh in _spans((y0 + y1 - side) / 2, side, height):
        counts = [0] * GRID
        for y in range(ya, yb):
            row = y * width
            for j, (xa, xb, _) in enumerate(cols):
                if xb > xa:
                    counts[j] += mask.count(1, row + xa, row + xb)
        grid.append([1 if 2 * c >= nh * nw else 0 for c, (_, _, nw) in zip(counts, cols)])
    return grid


def to_8x8(pixels, width, height, channel=3, stride=4):
    """A drawing -> the model's input: 64 floats in [0, 1] (row-major 8x8, for shape [1, 1, 8, 8]),
    or None when nothing is drawn."""
    grid = to_grid(ink_mask(pixels, width, height, channel, stride), width, height)
    if grid is None:
        return None
    return [sum(grid[BLOCK * i + a][BLOCK * j + b] for a in range(BLOCK) for b in range(BLOCK)) / 16
            for i in range(SIZE) for j in range(SIZE)]


def top_classes(logits, k=3):
    """Softmax of the 10 logits -> (probabilities, [(digit, probability)] of the k likeliest)."""
    logits = [float(v) for v in logits]
    m = max(logits)
    e = [math.exp(v - m) for v in logits]
    s = sum(e)
    probs = [v / s for v in e]
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    return probs, [(i, probs[i]) for i in order[:k]]
