"""The walking env for many episodes at once: an SB3 VecEnv that steps every env in one
``mujoco.batch`` call (C++ threads, GIL released) and computes observations, rewards and falls
in numpy over the batch with the single env's functions (batch_terms.py, servos.py), so both
give the same episodes. Done envs reset themselves (SB3's VecEnv contract: the returned
observation is the new episode's, the last one is in ``info["terminal_observation"]``)."""

from __future__ import annotations

from typing import Any

import mujoco
import mujoco.batch
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from humanoid.walk import batch_terms as terms
from humanoid.walk.gym_env import WalkEnv
from humanoid.walk.servos import ServoBank


class BatchedWalkEnv(VecEnv):
    def __init__(self, n_envs: int, seed: int | None = None, nthread: int = 0, **overrides: Any) -> None:
        spec = WalkEnv(**overrides)  # spaces, model, robot config and layout of one env
        self.single, self.cfg = spec, spec.config
        super().__init__(n_envs, spec.observation_space, spec.action_space)
        self.batch = mujoco.batch.Batch(spec.model, n_envs, nthread=nthread, persistent=True)
        self.qpos, self.qvel = self.batch.bind("qpos"), self.batch.bind("qvel")
        self.ctrl, self.sensordata = self.batch.bind("ctrl"), self.batch.bind("sensordata")
        self.servos = ServoBank(self.cfg.servos, n_envs, len(spec.home_pose), spec.top_speed)
        self.rng = np.random.default_rng(seed)
        n, joints = n_envs, len(spec.home_pose)
        self.estimate = np.tile(spec.home_pose, (n, 1))
        self.last_action = np.zeros((n, len(spec.driven)))
        self.ticks, self.stance = np.zeros(n, dtype=int), np.full(n, -1)
        self.home_height = np.zeros(n)
        self._commanded = np.zeros((n, joints))
        self._actions = np.zeros((n, len(spec.driven)))

    # -- episodes ----------------------------------------------------------------------------
    def _reset_envs(self, ids: np.ndarray) -> None:
        spec, n = self.single, len(ids)
        self.batch.reset(ids, keyframe=np.full(n, spec._home), stage=mujoco.mjtStage.mjSTAGE_NONE)
        joints = spec.layout.joint_qpos
        noise = self.rng.uniform(-self.cfg.joint_noise, self.cfg.joint_noise, (n, len(joints)))
        qpos = self.qpos[ids]
        qpos[:, joints] = np.clip(qpos[:, joints] + noise, spec.robot.lower, spec.robot.upper)
        self.qpos[ids] = qpos
        self.batch.forward(ids)
        self.home_height[ids] = self.qpos[ids, spec.layout.base_qpos + 2]
        self.estimate[ids] = spec.home_pose
        self.last_action[ids] = 0.0
        self.ticks[ids], self.stance[ids] = 0, -1
        self.servos.randomize(self.rng, ids)

    def reset(self) -> np.ndarray:
        if self._seeds[0] is not None:  # VecEnv.seed(s) asks for it at the next reset
            self.rng = np.random.default_rng(self._seeds[0])
            self._reset_seeds()
        self._reset_envs(np.arange(self.num_envs))
        return self._observe(np.arange(self.num_envs)).astype(np.float32)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.clip(np.asarray(actions, dtype=float).reshape(self.num_envs, -1), -1.0, 1.0)

    def step_wait(self):
        spec, layout = self.single, self.single.layout
        commanded = np.zeros_like(self._commanded)
        commanded[:, spec.driven] = self._actions * spec.top_speed[spec.driven]
        self.ctrl[:] = self.servos.actuate(commanded)
        self.batch.step(nstep=spec.substeps)
        self.estimate = np.clip(self.estimate + commanded * spec.period, spec.robot.lower, spec.robot.upper)
        qpos, qvel, sensors = self.qpos, self.qvel, self.sensordata
        contacts = terms.foot_contacts(layout, sensors)
        switched, self.stance = terms.stance_switches(contacts, self.stance)
        clock = terms.gait_clock(self.ticks, spec.period, self.cfg.gait_hz)  # the phase the actions saw
        tick = terms.Tick(contacts, switched, clock, self._actions, self.last_action, spec.home_pose)
        parts = terms.reward_terms(self.cfg.reward, layout, qpos, qvel, tick)
        self.last_action, self.ticks = self._actions.copy(), self.ticks + 1
        rewards = sum(parts.values()).astype(np.float32)
        terminated = terms.fallen(self.cfg.fall, layout, qpos, self.home_height)
        truncated = ~terminated & (self.ticks >= spec.max_ticks)
        everyone = np.arange(self.num_envs)
        obs = self._observe(everyone, contacts).astype(np.float32)
        done = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in everyone]
        for i in np.flatnonzero(done):
            infos[i] = {"terminal_observation": obs[i].copy(), "TimeLimit.truncated": bool(truncated[i])}
        if done.any():
            ids = np.flatnonzero(done)
            self._reset_envs(ids)
            obs[ids] = self._observe(ids).astype(np.float32)
        return obs, rewards, done, infos

    def _observe(self, ids: np.ndarray, contacts: np.ndarray | None = None) -> np.ndarray:
        layout, sensors = self.single.layout, self.sensordata[ids]
        clock = terms.gait_clock(self.ticks[ids], self.single.period, self.cfg.gait_hz)
        if self.cfg.observation == "notebook":
            contacts = terms.foot_contacts(layout, sensors) if contacts is None else contacts[ids]
            return terms.notebook_observation(layout, self.qpos[ids], self.qvel[ids], contacts, clock)
        return terms.deployable_observation(layout, sensors, self.estimate[ids], self.last_action[ids], clock)

    # -- the rest of SB3's VecEnv interface ----------------------------------------------------
    def close(self) -> None:
        self.single.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.single, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        raise AttributeError(f"BatchedWalkEnv: the envs of a batch share one configuration ({attr_name})")

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list[Any]:
        return [getattr(self.single, method_name)(*args, **kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


def make_batched(env_id: str, n_envs: int, seed: int | None = None, **env_kwargs: Any) -> BatchedWalkEnv:
    """``vec_env`` factory for the trainer: the batched VecEnv of a registered walking env id,
    ``env_kwargs`` (the preset's) over the id's settings."""
    from humanoid.walk.gym_env import ENV_SETTINGS

    if env_id not in ENV_SETTINGS:
        raise ValueError(f"{env_id}: not a humanoid walking env; those are {', '.join(ENV_SETTINGS)}")
    return BatchedWalkEnv(n_envs, seed=seed, **{**ENV_SETTINGS[env_id], **env_kwargs})
