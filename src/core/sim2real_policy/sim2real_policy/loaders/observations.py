"""Check an observation against a policy's declared features; convert served images for networks.

Served images are uint8 RGB (H, W, 3) (see interface.py); networks trained with LeRobot read
float32 (3, H, W) in [0, 1].
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from sim2real_policy.interface import Feature, Observation
from sim2real_policy.loaders.errors import ObservationError

IMAGE_PREFIX = "observation.image"  # LeRobot's rule: "observation.image" and "observation.images.<camera>"
CAMERA_PREFIX = "observation.images."


def is_image(feature: str) -> bool:
    return feature.startswith(IMAGE_PREFIX)


def camera_name(feature: str) -> str | None:
    """``observation.images.<camera>`` -> ``<camera>``; None for non-image features."""
    if not is_image(feature):
        return None
    return feature[len(CAMERA_PREFIX) :] if feature.startswith(CAMERA_PREFIX) else feature


def served_feature(name: str, network_shape: tuple[int, ...]) -> Feature:
    """The feature as the node serves it: images (C, H, W) in the network -> uint8 (H, W, C)."""
    if is_image(name):
        channels, height, width = network_shape
        return Feature(name, (height, width, channels), "uint8")
    return Feature(name, tuple(network_shape), "float32")


def _describe(feature: str) -> str:
    camera = camera_name(feature)
    return f"camera {camera!r} ({feature})" if camera is not None else repr(feature)


def check_observation(observation: Observation, features: Iterable[Feature]) -> None:
    """Raise ObservationError naming every missing feature (cameras by name) or bad shape/dtype."""
    features = tuple(features)
    missing = [f.name for f in features if f.name not in observation]
    if missing:
        given = ", ".join(sorted(observation)) or "nothing"
        raise ObservationError(
            f"observation lacks {', '.join(_describe(m) for m in missing)} that the policy reads; "
            f"observation has: {given}"
        )
    for feature in features:
        value = np.asarray(observation[feature.name])
        if value.shape != feature.shape:
            raise ObservationError(
                f"{_describe(feature.name)}: expected shape {feature.shape}, found {value.shape}"
            )
        if feature.dtype == "uint8" and value.dtype != np.uint8:
            raise ObservationError(f"{_describe(feature.name)}: expected dtype uint8, found {value.dtype}")


def image_to_chw(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (3, H, W) in [0, 1], the way LeRobot feeds its policies."""
    return np.ascontiguousarray(np.transpose(image, (2, 0, 1)), dtype=np.float32) / np.float32(255)
