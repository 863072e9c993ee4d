"""Train a small CNN to tell the sound classes of generate.py apart, and export it to ONNX.

    python examples/sound/train.py OUT_DIR   -> OUT_DIR/sound.onnx, OUT_DIR/labels.json

The input is what the page has: WINDOW frames (about 1 s) of webflow.audio_features.log_mel,
the same spec the browser computes from the microphone, as [batch, 1, WINDOW, n_mels]. The
network normalises it itself (constants from the training data), so the page feeds the
features as they are. Clips come from generate.py with a fixed seed; the held-out clips use
another seed. labels.json holds the class names in output order, the window, and the held-out
accuracy per class.
"""

import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402
from webflow import audio_features  # noqa: E402

SPEC = audio_features.SPEC
WINDOW = audio_features.n_frames(int(generate.SECONDS * SPEC["sample_rate"]))  # 98 frames
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 150
TRAIN_SEED, TEST_SEED = 1, 2


class SoundNet(torch.nn.Module):
    def __init__(self, mean, std, n_classes=len(generate.CLASSES)):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(1.0 / std, dtype=torch.float32))
        block = lambda i, o: [torch.nn.Conv2d(i, o, 3, padding=1), torch.nn.BatchNorm2d(o), torch.nn.ReLU()]  # noqa: E731
        self.features = torch.nn.Sequential(*block(1, 8), torch.nn.MaxPool2d(2), *block(8, 16), torch.nn.MaxPool2d(2), *block(16, 32))
        n_bands = SPEC["n_mels"] // 4
        self.head = torch.nn.Sequential(torch.nn.Linear(32 * n_bands, 64), torch.nn.ReLU(), torch.nn.Linear(64, n_classes))

    def forward(self, x):
        h = self.features((x - self.mean) * self.scale)  # [batch, 32, time / 4, mels / 4]
        h = h.amax(dim=2)  # the strongest response over time: where the sound sits in the window does not matter
        return self.head(h.flatten(1))


def features(clips):
    """[N, samples] at 16 kHz -> [N, 1, WINDOW, n_mels] log-mel, webflow's own front end."""
    return np.stack([audio_features.log_mel(c) for c in clips])[:, None]


def train(epochs=6, seed=0, log=print):
    torch.manual_seed(seed)
    t0, cpu0 = time.monotonic(), time.process_time()
    xtr, ytr = generate.dataset(TRAIN_PER_CLASS, TRAIN_SEED)
    xte, yte = generate.dataset(TEST_PER_CLASS, TEST_SEED)
    ftr, fte = features(xtr), features(xte)
    log(f"data: {len(ftr)} training and {len(fte)} held-out clips of {WINDOW} x {SPEC['n_mels']} log-mel, "
        f"made in {time.monotonic() - t0:.1f} s")
    net = SoundNet(float(ftr.mean()), float(ftr.std()))
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=epochs * -(-len(ftr) // 64))
    xt, yt = torch.from_numpy(ftr), torch.from_numpy(ytr)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(xt))
        total = 0.0
        for i in range(0, len(xt), 64):
            b = perm[i:i + 64]
            loss = torch.nn.functional.cross_entropy(net(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(xt):.4f} ({time.monotonic() - t0:.0f} s)")
    net.eval()
    with torch.no_grad():
        pred = net(torch.from_numpy(fte)).argmax(1).numpy()
    per_class = {c: float((pred[yte == k] == k).mean()) for k, c in enumerate(generate.CLASSES)}
    return net, float((pred == yte).mean()), per_class, (time.monotonic() - t0, time.process_time() - cpu0)


def export(net, path):
    torch.onnx.export(net, (torch.zeros(1, 1, WINDOW, SPEC["n_mels"]),), path, input_names=["logmel"], output_names=["logits"],
                      dynamo=False, dynamic_axes={"logmel": {0: "batch"}, "logits": {0: "batch"}})


def main(out_dir):
    torch.set_num_threads(min(2, torch.get_num_threads()))
    os.makedirs(out_dir, exist_ok=True)
    net, acc, per_class, (wall, cpu) = train()
    # CPU time too: on a shared machine the wall clock says more about the neighbours than the job
    print(f"trained SoundNet in {wall:.0f} s ({cpu:.0f} s of CPU): held-out accuracy {acc:.3f} on {TEST_PER_CLASS} clips per class")
    for c, a in per_class.items():
        print(f"  {c:<11} {a:.3f}")
    export(net, os.path.join(out_dir, "sound.onnx"))
    info = {"labels": list(generate.CLASSES), "window_frames": WINDOW, "audio_features": SPEC,
            "held_out_accuracy": round(acc, 4), "held_out_per_class": {c: round(a, 4) for c, a in per_class.items()}}
    with open(os.path.join(out_dir, "labels.json"), "w") as f:
        json.dump(info, f, indent=1)
    return acc, per_class


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/sound")
