"""The PyTorch models the foundation is verified on, and their ONNX export.

Each builder returns (module, example inputs, input names, output names); `export` writes the
ONNX file with a dynamic batch dim, with torch's default (dynamo) exporter or the TorchScript
one, which leaves more shape arithmetic in the graph.
"""

import warnings

import torch

torch.manual_seed(0)


class CNN(torch.nn.Module):
    """conv / batch norm / relu / maxpool / linear"""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, stride=1, padding=1, bias=False), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2, ceil_mode=True),
        )
        self.fc = torch.nn.Linear(32 * 5 * 5, 10)

    def forward(self, x):
        y = self.features(x)
        return self.fc(y.view(y.size(0), -1))


class InvertedResidual(torch.nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.block = torch.nn.Sequential(
            torch.nn.Conv2d(cin, hidden, 1, bias=False), torch.nn.BatchNorm2d(hidden), torch.nn.ReLU6(),
            torch.nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), torch.nn.BatchNorm2d(hidden), torch.nn.ReLU6(),
            torch.nn.Conv2d(hidden, cout, 1, bias=False), torch.nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV2(torch.nn.Module):
    """MobileNetV2: depthwise convs, ReLU6 (Clip), residual adds. width/blocks scale it down for tests."""

    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes=1000, width=1.0, settings=None):
        super().__init__()
        c = lambda n: max(8, int(n * width + 4) // 8 * 8)  # noqa: E731  round to multiples of 8
        cin = c(32)
        layers = [torch.nn.Conv2d(3, cin, 3, 2, 1, bias=False), torch.nn.BatchNorm2d(cin), torch.nn.ReLU6()]
        for t, ch, n, s in settings or self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c(ch), s if i == 0 else 1, t))
                cin = c(ch)
        last = 1280 if settings is None else c(1280)  # the full net keeps 1280 features
        layers += [torch.nn.Conv2d(cin, last, 1, bias=False), torch.nn.BatchNorm2d(last), torch.nn.ReLU6()]
        self.features = torch.nn.Sequential(*layers)
        self.classifier = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(last, num_classes))
        for m in self.modules():  # random but realistic batch-norm statistics
            if isinstance(m, torch.nn.BatchNorm2d):
                with torch.no_grad():
                    m.running_mean.uniform_(-0.2, 0.2)
                    m.running_var.uniform_(0.5, 1.5)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        x = self.features(x)
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


class Encoder(torch.nn.Module):
    """A transformer encoder layer: attention (MatMul, Softmax) with a key padding mask, LayerNorm, GELU."""

    def __init__(self, d=32, heads=4, ff=64):
        super().__init__()
        self.layer = torch.nn.TransformerEncoderLayer(d, heads, ff, activation="gelu", dropout=0.0, batch_first=True)

    def forward(self, x, mask):
        return self.layer(x, src_key_padding_mask=mask)


class Recurrent(torch.nn.Module):
    def __init__(self, cell, bidirectional=False):
        super().__init__()
        self.rnn = cell(8, 16, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.head = torch.nn.Linear(32 if bidirectional else 16, 4)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


def build(name):
    """(module, example inputs (batch 2), input names, output names)"""
    g = torch.Generator().manual_seed(1)
    if name == "cnn":
        return CNN(), (torch.randn(2, 3, 20, 20, generator=g),), ["image"], ["logits"]
    if name == "mobilenet_v2":
        settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 2, 2)]
        return MobileNetV2(num_classes=10, width=0.5, settings=settings), (torch.randn(2, 3, 64, 64, generator=g),), ["image"], ["logits"]
    if name == "mobilenet_v2_full":
        return MobileNetV2(), (torch.randn(1, 3, 224, 224, generator=g),), ["image"], ["logits"]
    if name == "transformer":
        mask = torch.zeros(2, 7, dtype=torch.bool)
        mask[1, 5:] = True  # the second sequence is padded after 5 tokens
        return Encoder(), (torch.randn(2, 7, 32, generator=g), mask), ["tokens", "padding_mask"], ["encoded"]
    if name == "gru":
        return Recurrent(torch.nn.GRU), (torch.randn(2, 6, 8, generator=g),), ["sequence"], ["scores"]
    if name == "lstm":
        return Recurrent(torch.nn.LSTM, bidirectional=True), (torch.randn(2, 6, 8, generator=g),), ["sequence"], ["scores"]
    raise KeyError(name)


MODELS = ["cnn", "mobilenet_v2", "transformer", "gru", "lstm"]


def export(name, path, dynamo=True):
    return export_module(*build(name), path, dynamo)


def export_module(module, args, ins, outs, path, dynamo=True):
    """ONNX of `module` with a symbolic batch (dim 0 of every input and output)."""
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            batch = torch.export.Dim("batch", min=1, max=1024)
            torch.onnx.export(module, args, path, dynamo=True, input_names=ins, output_names=outs,
                              dynamic_shapes=tuple({0: batch} for _ in args), verbose=False)
        else:
            torch.onnx.export(module, args, path, dynamo=False, input_names=ins, output_names=outs,
                              dynamic_axes={n: {0: "batch"} for n in ins + outs})
    return module, args, ins, outs
