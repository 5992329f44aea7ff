"""Run an ONNX model with onnxruntime on CPU; at load, the sidecar's input/output names and
static shapes are checked against the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from sim2real_common.errors import brief
from sim2real_policy.errors import CheckpointFileError
from sim2real_policy.loaders.exported import ExportedPolicy, check_names, check_shape, load_exported
from sim2real_policy.loaders.sidecar import Sidecar


class OnnxRunner:
    def __init__(self, model: Path, sidecar: Sidecar, sidecar_file: Path) -> None:
        try:
            self.session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types (INVALID_PROTOBUF, ...)
            raise CheckpointFileError(model, "an ONNX model onnxruntime loads", brief(err)) from err
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        outputs = {o.name: o.shape for o in self.session.get_outputs()}
        check_names(sidecar, sidecar_file, list(inputs), list(outputs))
        for i, spec in enumerate(sidecar.inputs):
            check_shape(inputs[spec.name], spec.shape, sidecar_file, f"inputs[{i}].shape", spec.name)
        output = sidecar.output
        check_shape(outputs[output.name], output.shape, sidecar_file, "outputs[0].shape", output.name)
        self._output = output.name

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run([self._output], inputs)[0]


def load_onnx_policy(path: Path) -> ExportedPolicy:
    return load_exported(path, OnnxRunner)
