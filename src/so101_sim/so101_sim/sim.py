"""The sim core: load a scene, reset with a seed, apply joint position targets, step, render.

No ROS here; the bridge node translates messages to and from these calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from so101_sim.cameras import CameraRig, CameraSpec
from so101_sim.scenes import load_model, scene_spec
from so101_sim.tasks.monitor import EpisodeStatus
from so101_sim.tasks.pick_place import PickPlaceConfig, PickPlaceTask

HOME_KEYFRAME = "home"


@dataclass(frozen=True)
class SimConfig:
    scene: str = "so101_pick_place"
    control_hz: float = 30.0
    task: PickPlaceConfig = field(default_factory=PickPlaceConfig)

    def __post_init__(self) -> None:
        scene_spec(self.scene)  # unknown scene -> UnknownSceneError listing the accepted ones
        if self.control_hz <= 0:
            raise ValueError(f"control_hz must be > 0, got {self.control_hz}")


class Sim:
    """One MuJoCo scene driven at a fixed control period by joint position targets."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.model = load_model(self.config.scene)
        self.data = mujoco.MjData(self.model)
        self.task = PickPlaceTask(self.model, self.config.task)
        period = 1.0 / self.config.control_hz
        self.substeps = max(1, round(period / self.model.opt.timestep))
        self.control_period = self.substeps * self.model.opt.timestep
        self.joint_names = [self.model.actuator(i).name for i in range(self.model.nu)]
        self._qpos_idx = np.array([self.model.joint(n).qposadr[0] for n in self.joint_names])
        self._qvel_idx = np.array([self.model.joint(n).dofadr[0] for n in self.joint_names])
        self.ctrl_range = self.model.actuator_ctrlrange.copy()
        self._home = self.model.key(HOME_KEYFRAME).id
        self._cameras: CameraRig | None = None
        self._episode = -1
        self.reset(seed=None)  # a valid state before the first reset; episode indices start at 0
        self._episode = -1

    # -- episode ------------------------------------------------------------------------------
    def reset(self, seed: int | None) -> EpisodeStatus:
        """Home pose, block at a pose drawn from ``seed`` (same seed -> same episode).

        Sim time keeps running across resets (a reset takes one control period), so /clock and
        message stamps only move forward and a new episode never shares a stamp with the last.
        """
        now = self.data.time
        mujoco.mj_resetDataKeyframe(self.model, self.data, self._home)
        self.data.time = now + self.control_period
        self.task.randomize(self.data, np.random.default_rng(seed))
        mujoco.mj_forward(self.model, self.data)
        self._episode += 1
        return self.task.monitor.reset(self._episode, seed)

    @property
    def status(self) -> EpisodeStatus:
        return self.task.monitor.status

    # -- control ------------------------------------------------------------------------------
    def set_targets(self, targets: np.ndarray) -> np.ndarray:
        """Set joint position targets (config joint order), clipped to the actuator ranges."""
        targets = np.asarray(targets, dtype=float)
        if targets.shape != (self.model.nu,):
            raise ValueError(
                f"expected {self.model.nu} joint targets {self.joint_names}, got shape {targets.shape}"
            )
        clipped = np.clip(targets, self.ctrl_range[:, 0], self.ctrl_range[:, 1])
        self.data.ctrl[:] = clipped
        return clipped

    def step(self, targets: np.ndarray | None = None) -> EpisodeStatus:
        """Advance one control period (holding the last targets if none are given)."""
        if targets is not None:
            self.set_targets(targets)
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)
        return self.task.update_monitor(self.data)

    # -- observation --------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return float(self.data.time)

    def joint_positions(self) -> np.ndarray:
        return self.data.qpos[self._qpos_idx].copy()

    def joint_velocities(self) -> np.ndarray:
        return self.data.qvel[self._qvel_idx].copy()

    def joint_efforts(self) -> np.ndarray:
        return self.data.actuator_force.copy()

    def object_poses(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """World position and quaternion (w, x, y, z) of each task object."""
        return {
            name: (self.data.body(name).xpos.copy(), self.data.body(name).xquat.copy())
            for name in self.task.objects
        }

    def environment_state(self) -> np.ndarray:
        """Privileged task state (pick-place: block xyz, block quat wxyz, bowl xyz), as the
        sim bridge publishes it and the contract lays it out."""
        poses = self.object_poses()
        return np.concatenate([poses["block"][0], poses["block"][1], poses["bowl"][0]])

    def observation(self, cameras: dict[str, tuple[int, int]] | None = None) -> dict[str, np.ndarray]:
        """LeRobot-named observation: state, environment_state and ``cameras`` {name: (H, W)}."""
        obs = {"observation.state": self.joint_positions(),
               "observation.environment_state": self.environment_state()}
        for name, (height, width) in (cameras or {}).items():
            obs[f"observation.images.{name}"] = self.render(name, width, height)
        return obs

    @property
    def cameras(self) -> CameraRig:
        """Created on first use, in the calling thread (renderers are thread-bound)."""
        if self._cameras is None:
            self._cameras = CameraRig(self.model)
        return self._cameras

    def render(self, camera: str, width: int = 128, height: int = 96) -> np.ndarray:
        """RGB image (height, width, 3) uint8 of a named scene camera, shadows off."""
        return self.cameras.render(self.data, CameraSpec(camera, width, height))

    def close(self) -> None:
        if self._cameras is not None:
            self._cameras.close()
            self._cameras = None
