"""Serve an exported network (TorchScript or ONNX runner) through the Policy interface.

The sidecar (sidecar.py) says which observation feature feeds which model input and how inputs
and the action are (un)normalised. A model that outputs an action chunk is served from a queue:
one inference per ``n_action_steps`` ticks, ``reset()`` empties the queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from sim2real_policy.interface import Feature, Observation
from sim2real_policy.loaders.errors import SidecarError
from sim2real_policy.loaders.observations import check_observation, image_to_chw, is_image, served_feature
from sim2real_policy.loaders.sidecar import ACTION, Sidecar, TensorSpec, read_sidecar, sidecar_path


class Runner(Protocol):
    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Batched inputs keyed by model input name -> the batched action output."""


class ExportedPolicy:
    """Implements ``Policy`` for a network run by ``runner`` as described by ``sidecar``."""

    def __init__(self, runner: Runner, sidecar: Sidecar) -> None:
        self.runner = runner
        self.sidecar = sidecar
        self.input_features = tuple(served_feature(s.feature, s.shape) for s in sidecar.inputs)
        self.output_features = (Feature(ACTION, (sidecar.action_dim,)),)
        self._queue: deque[np.ndarray] = deque()
        self.last_chunk: np.ndarray | None = None  # the chunk being played, for whisker views

    @property
    def queued_actions(self) -> int:
        """Actions left from the last chunk; the next call runs the network when this is 0."""
        return len(self._queue)

    def reset(self) -> None:
        self._queue.clear()
        self.last_chunk = None

    def predict_chunk(self, observation: Observation) -> np.ndarray:
        """The next ``n_action_steps`` actions, denormalised, shape (n, action_dim)."""
        check_observation(observation, self.input_features)
        output = self.runner({s.name: _model_input(s, observation[s.feature]) for s in self.sidecar.inputs})
        action = output[0]  # drop the batch dimension
        if self.sidecar.output.normalize is not None:
            action = self.sidecar.output.normalize.unnormalize(action)
        chunk = action if self.sidecar.chunked else action[None]
        return chunk[: self.sidecar.n_action_steps]

    def select_action(self, observation: Observation) -> np.ndarray:
        if not self._queue:
            self.last_chunk = self.predict_chunk(observation)
            self._queue.extend(self.last_chunk)
        return self._queue.popleft()


def _model_input(spec: TensorSpec, value: np.ndarray) -> np.ndarray:
    """Observation value -> normalised, typed, batched model input."""
    x = image_to_chw(value) if is_image(spec.feature) else np.asarray(value, dtype=np.float32)
    if spec.normalize is not None:
        x = spec.normalize.normalize(x)
    return np.ascontiguousarray(x[None], dtype=spec.dtype)


def load_exported(model: Path, runner: Callable[[Path, Sidecar, Path], Runner]) -> ExportedPolicy:
    """Read ``model``'s sidecar, build its runner (which checks the sidecar against the model)."""
    sidecar_file = sidecar_path(model)
    sidecar = read_sidecar(sidecar_file)
    return ExportedPolicy(runner(model, sidecar, sidecar_file), sidecar)


def check_names(sidecar: Sidecar, file: Path, inputs: Sequence[str], outputs: Sequence[str] | None) -> None:
    """Every model input has exactly one sidecar entry, and the action output exists."""
    for i, spec in enumerate(sidecar.inputs):
        if spec.name not in inputs:
            raise SidecarError(
                file,
                f"inputs[{i}].name",
                f"one of the model's inputs ({', '.join(inputs)})",
                repr(spec.name),
            )
    declared = {s.name for s in sidecar.inputs}
    for name in inputs:
        if name not in declared:
            raise SidecarError(file, "inputs", f"an entry for the model's input {name!r}", "none")
    if outputs is not None and sidecar.output.name not in outputs:
        raise SidecarError(
            file,
            "outputs[0].name",
            f"one of the model's outputs ({', '.join(outputs)})",
            repr(sidecar.output.name),
        )


def check_shape(
    model_shape: Sequence[int | str | None], shape: tuple[int, ...], file: Path, field: str, name: str
) -> None:
    """Compare static dims after the batch dimension; symbolic (dynamic) dims match anything."""
    per_sample = list(model_shape[1:])
    if len(per_sample) != len(shape) or any(
        isinstance(m, int) and m != s for m, s in zip(per_sample, shape, strict=True)
    ):
        raise SidecarError(
            file,
            field,
            f"{per_sample} (the model's {name!r} without the batch dimension)",
            repr(list(shape)),
        )
