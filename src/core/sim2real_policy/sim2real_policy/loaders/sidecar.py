"""The YAML sidecar of an exported model (``<model>.yaml`` next to ``<model>.pt`` / ``.onnx``).

It says how to feed the model from an observation and how to read its action::

    inputs:
      - name: observation_state        # input name in the model (ONNX input / forward() argument)
        feature: observation.state     # observation feature it is fed from
        shape: [6]                     # per sample, without the batch dimension
        dtype: float32                 # optional, default float32
        normalize: {mean: [...], std: [...]}   # or {min: [...], max: [...]}; omit for none
      - name: observation_images_overhead_cam
        feature: observation.images.overhead_cam
        shape: [3, 96, 128]            # images: served uint8 (H, W, 3), fed float (3, H, W) in [0, 1]
        normalize: {mean: [r, g, b], std: [r, g, b]}   # per channel
    outputs:
      - name: action
        feature: action
        shape: [100, 6]                # [n] for one action, [chunk, n] for an action chunk
        normalize: {mean: [...], std: [...]}   # the model's output is unnormalised with these
    n_action_steps: 100                # actions served per chunk (<= chunk); default: whole chunk

Normalisation follows LeRobot: (x - mean) / (std + 1e-8), or min/max mapped to [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim2real_policy.loaders.errors import SidecarError
from sim2real_policy.loaders.normalization import MeanStd, MinMax, Normalization, stats_array
from sim2real_policy.loaders.observations import is_image
from sim2real_policy.loaders.yaml_fields import check_keys, field, int_list, number_list, read_mapping

ACTION = "action"
_SPEC_KEYS = ("name", "feature", "shape", "dtype", "normalize")
_TOP_KEYS = ("inputs", "outputs", "n_action_steps", "source")


@dataclass(frozen=True)
class TensorSpec:
    name: str  # tensor name in the model
    feature: str  # LeRobot feature name it maps to
    shape: tuple[int, ...]  # per sample, no batch dimension
    dtype: str = "float32"
    normalize: Normalization | None = None

    def to_mapping(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "feature": self.feature,
            "shape": list(self.shape),
            "dtype": self.dtype,
        }
        if self.normalize is not None:
            data["normalize"] = self.normalize.to_mapping()
        return data


@dataclass(frozen=True)
class Sidecar:
    inputs: tuple[TensorSpec, ...]
    output: TensorSpec  # the action (or action chunk)
    n_action_steps: int
    source: dict[str, Any] | None = None  # provenance (e.g. the checkpoint it was exported from)

    @property
    def chunked(self) -> bool:
        return len(self.output.shape) == 2

    @property
    def action_dim(self) -> int:
        return self.output.shape[-1]

    def to_mapping(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "inputs": [s.to_mapping() for s in self.inputs],
            "outputs": [self.output.to_mapping()],
            "n_action_steps": self.n_action_steps,
        }
        if self.source:
            data["source"] = self.source
        return data


def sidecar_path(model_path: Path) -> Path:
    """``policy.onnx`` -> ``policy.yaml``."""
    return model_path.with_suffix(".yaml")


def write_sidecar(path: Path, sidecar: Sidecar) -> Path:
    path.write_text(yaml.safe_dump(sidecar.to_mapping(), sort_keys=False, default_flow_style=None))
    return path


def read_sidecar(path: Path) -> Sidecar:
    data = read_mapping(path, what="inputs, outputs and normalisation of the exported model")
    check_keys(data, _TOP_KEYS, path, "")
    raw_inputs = field(data, "inputs", list, path)
    if not raw_inputs:
        raise SidecarError(path, "inputs", "at least one input", "an empty list")
    inputs = tuple(_spec(raw, path, f"inputs[{i}]") for i, raw in enumerate(raw_inputs))
    names = [s.name for s in inputs]
    if len(set(names)) != len(names):
        raise SidecarError(path, "inputs", "unique input names", ", ".join(names))
    raw_outputs = field(data, "outputs", list, path)
    if len(raw_outputs) != 1:
        raise SidecarError(
            path, "outputs", "exactly one output (the action)", f"{len(raw_outputs)} outputs"
        )
    output = _spec(raw_outputs[0], path, "outputs[0]")
    if output.feature != ACTION:
        raise SidecarError(path, "outputs[0].feature", repr(ACTION), repr(output.feature))
    if len(output.shape) not in (1, 2):
        raise SidecarError(path, "outputs[0].shape", "[n] or [chunk, n]", repr(list(output.shape)))
    chunk = output.shape[0] if len(output.shape) == 2 else 1
    n_action_steps = field(data, "n_action_steps", int, path, default=chunk)
    if not 1 <= n_action_steps <= chunk:
        raise SidecarError(path, "n_action_steps", f"1..{chunk} (the chunk size)", str(n_action_steps))
    source = field(data, "source", dict, path, default=None)
    return Sidecar(inputs=inputs, output=output, n_action_steps=n_action_steps, source=source)


def _spec(raw: Any, path: Path, where: str) -> TensorSpec:
    if not isinstance(raw, dict):
        raise SidecarError(path, where, "a mapping with name, feature, shape", repr(raw))
    check_keys(raw, _SPEC_KEYS, path, f"{where}.")
    name = field(raw, "name", str, path, f"{where}.")
    feature = field(raw, "feature", str, path, f"{where}.")
    shape = int_list(field(raw, "shape", list, path, f"{where}."), path, f"{where}.shape", positive=True)
    image = is_image(feature)
    if image and (len(shape) != 3 or shape[0] != 3):
        raise SidecarError(path, f"{where}.shape", "[3, H, W] for an image feature", repr(list(shape)))
    dtype = field(raw, "dtype", str, path, f"{where}.", default="float32")
    try:
        np.dtype(dtype)
    except TypeError as err:
        raise SidecarError(
            path, f"{where}.dtype", "a numpy dtype name (e.g. float32)", repr(dtype)
        ) from err
    raw_norm = field(raw, "normalize", dict, path, f"{where}.", default=None)
    normalize = (
        None if raw_norm is None else _normalization(raw_norm, shape, image, path, f"{where}.normalize")
    )
    return TensorSpec(name=name, feature=feature, shape=shape, dtype=dtype, normalize=normalize)


def _normalization(
    raw: dict[str, Any], shape: tuple[int, ...], image: bool, path: Path, where: str
) -> Normalization:
    keys = set(raw)
    length = shape[0] if image else shape[-1]
    what = "channel" if image else "element"

    def stats(key: str) -> np.ndarray:
        values = number_list(raw[key], path, f"{where}.{key}", length)
        return stats_array(values, image=image)

    if keys == {"mean", "std"}:
        return MeanStd(mean=stats("mean"), std=stats("std"))
    if keys == {"min", "max"}:
        return MinMax(min=stats("min"), max=stats("max"))
    raise SidecarError(
        path,
        where,
        f"{{mean, std}} or {{min, max}} (one value per {what})",
        "{" + ", ".join(sorted(keys)) + "}",
    )
