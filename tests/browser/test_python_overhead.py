"""The JS API's fast path (index.js digest → browser.py predict_js): a repeat input signature skips
Python's reading and checking of every input field. Its results and errors must be the full path's."""

import re

import pytest

from tests.browser.site import model_page, served
from tests.torch_models import export
from webflow.converter import convert

# Each case runs twice on one model: through Model.predict (the signature digest, cached after the
# first good call) and through predict_js without a digest (every field read and checked in Python).
COMPARE = """async (u) => {
  const webflow = await import("./webflow_js/index.js");
  const m = await webflow.load(u);
  const x = (shape, T = Float32Array, n = shape.reduce((a, b) => a * b, 1)) =>
    ({ data: T.from({ length: n }, (_, i) => Math.sin(i)), shape });
  const full = (inputs) => m.py.predict_js(inputs);
  const plain = (out) => Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { data: [...v.data], shape: v.shape, dtype: v.dtype }]));
  const message = async (f) => { try { await f(); return null; } catch (e) { return String(e.message).trim().split("\\n").pop().replace(/^[\\w.]*\\.(\\w+Error): /, "$1: "); } };
  const good = { image: x([2, 3, 20, 20]) };
  const first = plain(await m.predict(good));   // full path; the signature is remembered
  const fast = await m.predict(good);            // the remembered signature
  fast.logits.shape.push(99);                    // the caller owns what it got
  const again = plain(await m.predict([good.image]));  // by position: the same signature
  const bad = {
    shape: { image: x([1, 3, 21, 20]) },
    rank: { image: x([2, 3, 400]) },
    length: { image: x([2, 3, 20, 20], Float32Array, 5) },
    dtype: { image: x([2, 3, 20, 20], Int32Array) },
    unknown: { pixels: good.image },
    missing: {},
    extra: { image: good.image, pixels: good.image },
    notTyped: { image: { data: [1, 2, 3], shape: [3] } },
    disposed: { image: { handle: null, shape: [2, 3, 20, 20], dtype: "float32" } },
  };
  const errors = {};
  for (const [k, v] of Object.entries(bad)) errors[k] = [await message(() => m.predict(v)), await message(() => full(v))];
  return { first, fastShape: fast.logits.shape, again, slow: plain(await full(good)), errors };
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    export("cnn", str(tmp / "cnn.onnx"))
    convert(str(tmp / "cnn.onnx"), str(tmp / "cnn"), log=lambda *a: None)
    with served(str(tmp / "site"), {"cnn": str(tmp / "cnn")}) as url:
        yield url


def test_repeat_signature_gives_the_full_paths_results_and_errors(browser, site):
    with model_page(browser, site) as page:
        r = page.evaluate(COMPARE, f"{site}/models/cnn/")
    assert r["first"]["logits"]["shape"] == [2, 10] and r["first"]["logits"]["dtype"] == "float32"
    assert r["again"] == r["first"] == r["slow"]  # bit-exact: the same plan on the same data
    assert r["fastShape"] == [2, 10, 99]
    want = {
        "shape": r"InputError: input 'image': expected shape \[batch, 3, 20, 20\], got \[1, 3, 21, 20\]",
        "rank": r"InputError: input 'image': expected shape \[batch, 3, 20, 20\] \(rank 4\), got \[2, 3, 400\] \(rank 3\)",
        "length": r"InputError: input 'image': data has 5 elements, shape \[2, 3, 20, 20\] needs 2400",
        "dtype": r"InputError: input 'image': expected dtype float32, got int32",
        "unknown": r"InputError: unknown input\(s\) 'pixels'",
        "missing": r"InputError: missing input\(s\) 'image'",
        "extra": r"InputError: unknown input\(s\) 'pixels'",
        "notTyped": r"InputError: input 'image': data must be a typed array, got Array",
        "disposed": r"InputError: input 'image': this frame was disposed",
    }
    for case, pattern in want.items():
        via_digest, full = r["errors"][case]
        assert via_digest == full, (case, via_digest, full)
        assert re.match(pattern, via_digest), (case, via_digest)
