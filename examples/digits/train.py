"""Train a small CNN on scikit-learn's 8x8 digits and export it to ONNX (dynamic batch).

    python examples/digits/train.py OUT_DIR   -> OUT_DIR/digits.onnx, OUT_DIR/test_images.npy, OUT_DIR/test_labels.npy
"""

import os
import sys

import numpy as np
import torch
from sklearn.datasets import load_digits


class DigitsNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        )
        self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 4 * 4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))

    def forward(self, x):
        return self.head(self.features(x))


def load_data():
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    split = int(0.8 * len(x))
    return (x[idx[:split]], y[idx[:split]]), (x[idx[split:]], y[idx[split:]])


def train(epochs=12, seed=0):
    torch.manual_seed(seed)
    (xtr, ytr), (xte, yte) = load_data()
    net = DigitsNet()
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            b = perm[i:i + 64]
            loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(xtr[b])), torch.from_numpy(ytr[b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean()
    return net, (xte, yte), float(acc)


def export(net, path):
    torch.onnx.export(net, (torch.zeros(1, 1, 8, 8),), path, input_names=["image"], output_names=["logits"],
                      dynamo=False, dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    net, (xte, yte), acc = train()
    print(f"trained DigitsNet: test accuracy {acc:.3f} on {len(xte)} held-out digits")
    export(net, os.path.join(out_dir, "digits.onnx"))
    np.save(os.path.join(out_dir, "test_images.npy"), xte)
    np.save(os.path.join(out_dir, "test_labels.npy"), yte)
    return acc


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/digits")
