"""The sim core: load a scene, reset with a seed, apply joint position targets, step, render.

No ROS here; the bridge node translates messages to and from these calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from sim2real_common.registry import scene
from sim2real_common.robot_config import load_robot_config
from sim2real_sim.cameras import CameraRig, CameraSpec
from sim2real_sim.scenes import load_model
from sim2real_sim.task import EpisodeStatus, task_class

HOME_KEYFRAME = "home"  # the keyframe every episode starts from, when the scene has one


@dataclass(frozen=True)
class SimConfig:
    scene: str  # a registered scene (sim2real_common.registry)
    control_hz: float | None = None  # None: the scene's robot config's
    max_steps: int | None = None  # episode budget in control ticks (None: the task's own)

    def __post_init__(self) -> None:
        owner, _ = scene(self.scene)  # unknown scene -> RegistryError listing the registered ones
        if self.control_hz is None:
            object.__setattr__(self, "control_hz", load_robot_config(owner.robot_config).control_hz)
        if self.control_hz <= 0:
            raise ValueError(f"control_hz must be > 0, got {self.control_hz}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")


class Sim:
    """One MuJoCo scene driven at a fixed control period by joint position targets."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.model = load_model(self.config.scene)
        self.data = mujoco.MjData(self.model)
        self.task = task_class(self.config.scene)(self.model, max_steps=self.config.max_steps)
        period = 1.0 / self.config.control_hz
        self.substeps = max(1, round(period / self.model.opt.timestep))
        self.control_period = self.substeps * self.model.opt.timestep
        self.joint_names = [self.model.actuator(i).name for i in range(self.model.nu)]
        self._qpos_idx = np.array([self.model.joint(n).qposadr[0] for n in self.joint_names])
        self._qvel_idx = np.array([self.model.joint(n).dofadr[0] for n in self.joint_names])
        self.ctrl_range = self.model.actuator_ctrlrange.copy()
        self._home = _keyframe(self.model, HOME_KEYFRAME)
        self._cameras: CameraRig | None = None
        self._actuate = getattr(self.task, "actuate", None)
        self._commanded = np.zeros(self.model.nu)
        self._episode = -1
        self.reset(seed=None)  # a valid state before the first reset; episode indices start at 0
        self._episode = -1

    # -- episode ------------------------------------------------------------------------------
    def reset(self, seed: int | None) -> EpisodeStatus:
        """Home pose (the ``home`` keyframe, else the model's default), task objects placed from
        ``seed`` (same seed -> same episode).

        Sim time keeps running across resets (a reset takes one control period), so /clock and
        message stamps only move forward and a new episode never shares a stamp with the last.
        """
        now = self.data.time
        if self._home is None:
            mujoco.mj_resetData(self.model, self.data)
        else:
            mujoco.mj_resetDataKeyframe(self.model, self.data, self._home)
        self._commanded = self.data.ctrl.copy()
        self.data.time = now + self.control_period
        self.task.randomize(self.data, np.random.default_rng(seed))
        mujoco.mj_forward(self.model, self.data)
        self._episode += 1
        return self.task.reset_monitor(self._episode, seed)

    @property
    def status(self) -> EpisodeStatus:
        return self.task.status

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
        self._commanded = clipped
        return clipped

    @property
    def commanded(self) -> np.ndarray:
        """The actuator values last commanded (before the task's actuator model, if it has one)."""
        return self._commanded.copy()

    def step(self, targets: np.ndarray | None = None) -> EpisodeStatus:
        """Advance one control period (holding the last targets if none are given)."""
        if targets is not None:
            self.set_targets(targets)
        if self._actuate is not None:  # the task's actuator model between command and actuators
            self.data.ctrl[:] = self._actuate(self._commanded)
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

    def body_pose(self, body: str) -> tuple[np.ndarray, np.ndarray]:
        """World position and quaternion (w, x, y, z) of a body (a floating base)."""
        return self.data.body(body).xpos.copy(), self.data.body(body).xquat.copy()

    def sensor(self, name: str) -> np.ndarray:
        """The current reading of an MJCF sensor (an IMU's framequat, gyro, accelerometer)."""
        return self.data.sensor(name).data.copy()

    def environment_state(self) -> np.ndarray:
        """Privileged task state, as the task lays it out (and the contract names it)."""
        return self.task.environment_state(self.data)

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


def _keyframe(model: mujoco.MjModel, name: str) -> int | None:
    try:
        return model.key(name).id
    except KeyError:
        return None
