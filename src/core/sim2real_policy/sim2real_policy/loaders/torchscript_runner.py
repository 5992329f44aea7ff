"""Run a TorchScript module on CPU; at load, the sidecar's input names are checked against the
arguments of its ``forward``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sim2real_common.errors import brief
from sim2real_policy.errors import CheckpointFileError, PolicyError
from sim2real_policy.loaders.exported import ExportedPolicy, check_names, load_exported
from sim2real_policy.loaders.sidecar import Sidecar


class TorchScriptRunner:
    """Calls ``forward`` with the sidecar's inputs matched to its argument names."""

    def __init__(self, model: Path, sidecar: Sidecar, sidecar_file: Path) -> None:
        try:
            self.module = torch.jit.load(str(model), map_location="cpu").eval()
        except (RuntimeError, ValueError) as err:  # a truncated or foreign file: "PytorchStreamReader failed ..."
            raise CheckpointFileError(model, "a TorchScript module (torch.jit.save)", brief(err)) from err
        self._arguments = [a.name for a in self.module.forward.schema.arguments[1:]]  # [0] is self
        check_names(sidecar, sidecar_file, self._arguments, None)

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            output = self.module(*(torch.from_numpy(inputs[name]) for name in self._arguments))
        if not isinstance(output, torch.Tensor):
            raise PolicyError(
                f"TorchScript forward() must return a tensor, returned {type(output).__name__}"
            )
        return output.numpy()


def load_torchscript_policy(path: Path) -> ExportedPolicy:
    return load_exported(path, TorchScriptRunner)
