"""Whiskers: a policy's predicted action chunk, forward-simulated and drawn as the end-effector
path it would produce (no ROS here; the sim bridge feeds it chunks and video frames).

Colours follow the whisker tool of seed 001: green = newest prediction, blue = earlier
predictions fading with age, orange = the path the gripper actually took.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import cv2
import mujoco
import numpy as np

CURRENT_RGB = (40, 220, 40)
PAST_RGB = (60, 120, 255)
ACTUAL_RGB = (255, 150, 30)


def predict_path(model: mujoco.MjModel, data: mujoco.MjData, chunk: np.ndarray, substeps: int,
                 site: str) -> np.ndarray:
    """World positions (n, 3) of ``site`` after each of the ``n`` chunk steps.

    ``chunk`` is (n, nu) actuator targets in actuator order, each held for ``substeps`` physics
    steps (one control period) and clipped to the control ranges, as the sim applies commands.
    The rollout runs on a private copy of ``data``; ``data`` itself is never modified.
    """
    chunk = np.atleast_2d(np.asarray(chunk, dtype=float))
    if chunk.shape[1] != model.nu:
        raise ValueError(f"chunk must be (n, {model.nu}) actuator targets, got shape {chunk.shape}")
    limited = model.actuator_ctrllimited.astype(bool)
    low, high = model.actuator_ctrlrange.T
    chunk = np.where(limited, np.clip(chunk, low, high), chunk)
    rollout = mujoco.MjData(model)
    mujoco.mj_copyData(rollout, model, data)
    site_id = model.site(site).id
    path = np.empty((len(chunk), 3))
    for i, targets in enumerate(chunk):
        rollout.ctrl[:] = targets
        mujoco.mj_step(model, rollout, nstep=substeps)
        mujoco.mj_kinematics(model, rollout)  # site poses of the state after the step
        path[i] = rollout.site_xpos[site_id]
    return path


def camera_projection(model: mujoco.MjModel, data: mujoco.MjData, camera: str, width: int,
                      height: int) -> np.ndarray:
    """3x4 pinhole matrix taking homogeneous world points to pixel coordinates of the image
    ``mujoco.Renderer`` draws for ``camera`` at ``width`` x ``height`` (row 0 at the top, pixel
    centres at integers). Cameras defined by ``fovy`` only (no sensor size)."""
    cam = model.camera(camera)
    if np.any(model.cam_sensorsize[cam.id] > 0):
        raise ValueError(f"camera {camera!r} uses sensorsize/focal intrinsics; only fovy cameras are supported")
    focal = 0.5 * height / np.tan(np.deg2rad(model.cam_fovy[cam.id]) / 2)
    # MuJoCo cameras look along -z with y up, so depth is -z and image rows grow along -y.
    cx, cy = (width - 1) / 2, (height - 1) / 2
    intrinsics = np.array([[focal, 0.0, -cx], [0.0, -focal, -cy], [0.0, 0.0, -1.0]])
    rotation = data.cam_xmat[cam.id].reshape(3, 3).T  # world -> camera
    extrinsics = np.hstack([rotation, -rotation @ data.cam_xpos[cam.id][:, None]])
    return intrinsics @ extrinsics


def project(projection: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (n, 2) of world points (n, 3), and which of them lie in front of the camera."""
    homogeneous = np.hstack([points, np.ones((len(points), 1))]) @ projection.T
    depth = homogeneous[:, 2]
    in_front = depth > 1e-6
    pixels = homogeneous[:, :2] / np.where(in_front, depth, 1.0)[:, None]
    return pixels, in_front


class WhiskerPaths(NamedTuple):
    current: np.ndarray | None  # (n, 3) newest prediction
    past: tuple[np.ndarray, ...]  # earlier predictions, oldest first
    actual: np.ndarray  # (m, 3) where the site has been


class WhiskerHistory:
    """The newest prediction, the ``keep`` before it, and the actual path of one episode."""

    def __init__(self, keep: int = 8) -> None:
        self._predictions: deque[np.ndarray] = deque(maxlen=keep + 1)
        self._actual: list[np.ndarray] = []

    def add_prediction(self, path: np.ndarray) -> None:
        self._predictions.append(np.asarray(path, dtype=float))

    def add_position(self, position: np.ndarray) -> None:
        self._actual.append(np.array(position, dtype=float))

    def clear(self) -> None:
        self._predictions.clear()
        self._actual.clear()

    def paths(self) -> WhiskerPaths:
        predictions = tuple(self._predictions)
        return WhiskerPaths(current=predictions[-1] if predictions else None, past=predictions[:-1],
                            actual=np.array(self._actual).reshape(-1, 3))


def draw_paths(image: np.ndarray, paths: WhiskerPaths, projection: np.ndarray) -> np.ndarray:
    """A copy of the RGB ``image`` with the whiskers drawn in (see module doc for colours)."""
    out = np.ascontiguousarray(image, dtype=np.uint8).copy()
    thickness = max(1, out.shape[1] // 320)
    for age, past in enumerate(reversed(paths.past), start=1):
        overlay = out.copy()
        _polyline(overlay, past, projection, PAST_RGB, thickness)
        alpha = 0.6 / age  # older -> fainter
        out = cv2.addWeighted(overlay, alpha, out, 1 - alpha, 0)
    _polyline(out, paths.actual, projection, ACTUAL_RGB, thickness)
    if paths.current is not None:
        end = _polyline(out, paths.current, projection, CURRENT_RGB, thickness)
        if end is not None:
            cv2.circle(out, end, 2 * thickness + 1, CURRENT_RGB, -1, cv2.LINE_AA)
    return out


def _polyline(image: np.ndarray, points: np.ndarray, projection: np.ndarray, rgb: tuple[int, int, int],
              thickness: int) -> tuple[int, int] | None:
    """Draw the visible part of a 3D path; return its last visible pixel (None if none)."""
    if len(points) == 0:
        return None
    pixels, in_front = project(projection, points)
    pixels = np.round(pixels[in_front]).astype(np.int32)
    if len(pixels) == 0:
        return None
    cv2.polylines(image, [pixels.reshape(-1, 1, 2)], False, rgb, thickness, cv2.LINE_AA)
    return int(pixels[-1, 0]), int(pixels[-1, 1])
