"""Gymnasium env of the humanoid walking forward (ids in setup.py, entry points ``sim2real.envs``).

At the robot config's control rate (12.5 Hz: what the LSC-24 link carries for 17 channels), an
action in [-1, 1] per driven joint is a speed command (x the servo's top speed); it reaches the
actuators through the servo model (servos.py: deadband, gain spread, latency, drawn per episode).
``legs_only`` drives the 10 leg joints and tells head and arms to stop. Observation sets and
reward: walk_config.py / config/walk/walk.yaml and batch_terms.py. The episode ends on a fall
(terminated) or after ``episode_s`` (truncated).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from humanoid.walk import batch_terms as terms
from humanoid.walk.servos import ServoBank
from humanoid.walk.walk_config import WalkEnvConfig, load_walk_config
from sim2real_common.robot_config import load_robot_config
from sim2real_sim.scenes import load_model

SCENE, ROBOT_CONFIG, HOME = "humanoid_walk", "humanoid.yaml", "home"


class WalkEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 12.5}

    def __init__(self, config: WalkEnvConfig | None = None, render_mode: str | None = None, **overrides: Any) -> None:
        self.config = config or load_walk_config(**overrides)
        self.robot = load_robot_config(ROBOT_CONFIG)
        self.model = load_model(SCENE)
        self.data = mujoco.MjData(self.model)
        self.period = 1.0 / self.robot.control_hz
        self.substeps = max(1, round(self.period / self.model.opt.timestep))
        self.max_ticks = round(self.config.episode_s * self.robot.control_hz)
        imu = tuple(self.robot.imu.sensors().values()) if self.robot.imu else ()
        self.layout = terms.WalkLayout.of(self.model, imu)
        names = self.robot.joint_names
        driven = self.robot.groups["legs"] if self.config.legs_only else names
        self.driven = np.array([names.index(n) for n in driven])
        self.top_speed = self.robot.max_step * self.robot.control_hz
        self.servos = ServoBank(self.config.servos, 1, len(names), self.top_speed)
        self._home = self.model.key(HOME).id
        self.home_pose = np.array(self.robot.home)
        self.render_mode, self._renderer = render_mode, None
        self.action_space = gym.spaces.Box(-1.0, 1.0, (len(self.driven),), np.float32)
        self._reset_state()
        size = self._observe().shape[1]
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float32)

    # -- episode -----------------------------------------------------------------------------
    def _reset_state(self) -> None:
        mujoco.mj_resetDataKeyframe(self.model, self.data, self._home)
        self.estimate = self.home_pose[None].copy()
        self.last_action = np.zeros((1, len(self.driven)))
        self.ticks, self.stance = np.zeros(1, dtype=int), np.full(1, -1)
        mujoco.mj_forward(self.model, self.data)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._reset_state()
        noise = self.np_random.uniform(-self.config.joint_noise, self.config.joint_noise, len(self.home_pose))
        joints = self.layout.joint_qpos
        self.data.qpos[joints] = np.clip(self.data.qpos[joints] + noise, self.robot.lower, self.robot.upper)
        mujoco.mj_forward(self.model, self.data)
        self.home_height = float(self.data.qpos[self.layout.base_qpos + 2])
        self.servos.randomize(self.np_random)
        return self._observe()[0].astype(np.float32), {}

    def step(self, action: np.ndarray):
        action = np.clip(np.asarray(action, dtype=float).reshape(1, -1), -1.0, 1.0)
        commanded = np.zeros((1, len(self.home_pose)))
        commanded[:, self.driven] = action * self.top_speed[self.driven]
        self.data.ctrl[:] = self.servos.actuate(commanded)[0]
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)
        self.estimate = np.clip(self.estimate + commanded * self.period, self.robot.lower, self.robot.upper)
        qpos, qvel, sensors = self.data.qpos[None], self.data.qvel[None], self.data.sensordata[None]
        contacts = terms.foot_contacts(self.layout, sensors)
        switched, self.stance = terms.stance_switches(contacts, self.stance)
        clock = terms.gait_clock(self.ticks, self.period, self.config.gait_hz)  # the phase the action saw
        tick = terms.Tick(contacts, switched, clock, action, self.last_action, self.home_pose)
        parts = terms.reward_terms(self.config.reward, self.layout, qpos, qvel, tick)
        self.last_action, self.ticks = action, self.ticks + 1
        fell = bool(terms.fallen(self.config.fall, self.layout, qpos, self.home_height)[0])
        info = {f"reward_{name}": float(value[0]) for name, value in parts.items()}
        info["x"] = float(qpos[0, self.layout.base_qpos])
        return (self._observe(contacts)[0].astype(np.float32), float(sum(v[0] for v in parts.values())), fell,
                not fell and int(self.ticks[0]) >= self.max_ticks, info)

    def _observe(self, contacts: np.ndarray | None = None) -> np.ndarray:
        sensors = self.data.sensordata[None]
        clock = terms.gait_clock(self.ticks, self.period, self.config.gait_hz)
        if self.config.observation == "notebook":
            contacts = terms.foot_contacts(self.layout, sensors) if contacts is None else contacts
            return terms.notebook_observation(self.layout, self.data.qpos[None], self.data.qvel[None], contacts, clock)
        return terms.deployable_observation(self.layout, sensors, self.estimate, self.last_action, clock)

    def policy_layout(self) -> dict[str, Any]:
        """How the policy node serves a model trained here (the SB3 sidecar, sb3_layout.py): the
        deployable observation from the contract's features, speed commands for the driven joints."""
        if self.config.observation != "deployable":
            raise ValueError("only the deployable observation can be served on the robot: the notebook one "
                             "reads joint velocities, torso velocity and foot contacts it does not measure")
        imu = [{"feature": "observation.imu", "dims": len(self.layout.imu)}] if len(self.layout.imu) else []
        return {
            "algorithm": "PPO",
            "control_hz": self.robot.control_hz,
            "observation": [{"feature": "observation.state", "dims": len(self.home_pose)},
                            {"feature": "policy.last_action", "dims": len(self.driven)},
                            {"feature": "policy.gait_clock", "dims": 2, "hz": self.config.gait_hz},
                            *imu],
            "action": {"mode": "velocity", "joints": self.driven.tolist(),
                       "scale": self.top_speed[self.driven].tolist(), "n_joints": len(self.home_pose)},
        }

    # -- video -------------------------------------------------------------------------------
    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, 360, 480)
        self._renderer.update_scene(self.data, camera="follow")
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


ENV_SETTINGS = {  # the registered ids (setup.py) and what they set over config/walk/walk.yaml
    "HumanoidWalk-v0": {"observation": "notebook", "legs_only": False},
    "HumanoidWalkDeploy-v0": {"observation": "deployable", "legs_only": False},
    "HumanoidWalkLegs-v0": {"observation": "deployable", "legs_only": True},
}


def full_body_notebook(**kwargs: Any) -> WalkEnv:
    return WalkEnv(**ENV_SETTINGS["HumanoidWalk-v0"], **kwargs)


def full_body_deployable(**kwargs: Any) -> WalkEnv:
    return WalkEnv(**ENV_SETTINGS["HumanoidWalkDeploy-v0"], **kwargs)


def legs_only_deployable(**kwargs: Any) -> WalkEnv:
    return WalkEnv(**ENV_SETTINGS["HumanoidWalkLegs-v0"], **kwargs)
