"""Offscreen camera rendering with shadows off.

A `mujoco.Renderer` is bound to the thread that created it (EGL context): use a CameraRig from
one thread only (the sim bridge renders from its single executor thread).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from sim2real_sim.errors import UnknownCameraError


@dataclass(frozen=True)
class CameraSpec:
    name: str
    width: int = 128
    height: int = 96


class CameraRig:
    """Renders the scene's named cameras at any resolution; one renderer per resolution."""

    def __init__(self, model: mujoco.MjModel) -> None:
        self.model = model
        self.names = [model.camera(i).name for i in range(model.ncam)]
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}

    def check(self, camera: CameraSpec) -> None:
        """Raise a clear error for an unknown camera or a size beyond the offscreen buffer."""
        if camera.name not in self.names:
            raise UnknownCameraError(camera.name, self.names)
        vis = self.model.vis.global_
        if not (0 < camera.width <= vis.offwidth and 0 < camera.height <= vis.offheight):
            raise ValueError(
                f"camera {camera.name!r}: {camera.width}x{camera.height} is outside the scene's "
                f"offscreen buffer 1x1..{vis.offwidth}x{vis.offheight}"
            )

    def _renderer(self, width: int, height: int) -> mujoco.Renderer:
        key = (width, height)
        if key not in self._renderers:
            renderer = mujoco.Renderer(self.model, height=height, width=width)
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            self._renderers[key] = renderer
        return self._renderers[key]

    def render(self, data: mujoco.MjData, camera: CameraSpec) -> np.ndarray:
        """RGB image (height, width, 3) uint8."""
        self.check(camera)
        renderer = self._renderer(camera.width, camera.height)
        renderer.update_scene(data, camera=camera.name)
        return renderer.render()

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()
