"""The main job until the demo site exists: train → convert → verify → run → info, with the CLI."""

import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "out", "digits")
WEBFLOW = os.path.join(os.path.dirname(sys.executable), "webflow")


def sh(*args):
    print("\n$ webflow " + " ".join(args), flush=True)
    subprocess.run([WEBFLOW, *args], check=True)


def main():
    acc = train.main(OUT)
    src = os.path.join(OUT, "digits.onnx")
    model_dir = os.path.join(OUT, "model")
    sh("convert", src, model_dir)
    sh("info", model_dir)
    sh("verify", src, "--dim", "batch=16")
    images = os.path.join(OUT, "test_images.npy")
    sh("run", model_dir, "--input", f"image={images}", "--backend", "numpy", "--output", os.path.join(OUT, "logits.npz"))
    logits = np.load(os.path.join(OUT, "logits.npz"))["logits"]
    labels = np.load(os.path.join(OUT, "test_labels.npy"))
    print(f"\nwebflow accuracy on {len(labels)} held-out digits: {(logits.argmax(1) == labels).mean():.3f} (torch: {acc:.3f})")


if __name__ == "__main__":
    main()
