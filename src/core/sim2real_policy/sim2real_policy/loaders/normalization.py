"""LeRobot's MEAN_STD and MIN_MAX normalisation in numpy (same formulas as LeRobot 0.4.4's
NormalizerProcessorStep / UnnormalizerProcessorStep), for exported models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-8  # LeRobot's default eps


@dataclass(frozen=True)
class MeanStd:
    mean: np.ndarray
    std: np.ndarray

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / (self.std + np.float32(EPS))

    def unnormalize(self, x: np.ndarray) -> np.ndarray:
        return x * self.std + self.mean

    def to_mapping(self) -> dict[str, list[float]]:
        return {"mean": _flat(self.mean), "std": _flat(self.std)}


@dataclass(frozen=True)
class MinMax:
    """Maps [min, max] to [-1, 1]."""

    min: np.ndarray
    max: np.ndarray

    @property
    def _range(self) -> np.ndarray:
        span = self.max - self.min
        return np.where(span == 0, np.float32(EPS), span).astype(np.float32)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return 2 * (x - self.min) / self._range - 1

    def unnormalize(self, x: np.ndarray) -> np.ndarray:
        return (x + 1) / 2 * self._range + self.min

    def to_mapping(self) -> dict[str, list[float]]:
        return {"min": _flat(self.min), "max": _flat(self.max)}


Normalization = MeanStd | MinMax


def stats_array(values: list[float] | np.ndarray, *, image: bool) -> np.ndarray:
    """float32 stats shaped to broadcast: per channel (C, 1, 1) for images, per element otherwise."""
    array = np.asarray(values, dtype=np.float32).reshape(-1)
    return array.reshape(-1, 1, 1) if image else array


def _flat(array: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(array).reshape(-1)]
