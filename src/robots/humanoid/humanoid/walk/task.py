"""Walking task of the humanoid (the ``sim2real_sim.task`` protocol): stand up from the home pose
and walk forward (+x) on flat ground.

Outcomes: ``upright`` (the episode ran its length without a fall: the success, so the evaluator's
success rate is the fall-free rate) and ``fell`` (torso below ``fall_height`` or tilted more than
``fall_tilt_deg``; the episode ends there). Per episode: ``distance_m`` (torso displacement along
+x), ``fell``, ``upright_s``, ``speed_m_s`` and ``foot_switches`` (changes of the single foot on the
ground, left-only <-> right-only: steps, not shuffles with both feet down). Falls and foot contacts
are judged by the walking env's own functions (batch_terms.py) on the same state, so training and
evaluation count alike.

The commanded speeds reach the actuators through the same servo model as in training
(``actuate``; servos.py, drawn per episode from the seed with the ranges of config/walk/walk.yaml),
so the ROS graph drives the servos the policy learned on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import mujoco
import numpy as np

from humanoid.walk import batch_terms as terms
from humanoid.walk.servos import ServoBank
from humanoid.walk.walk_config import FallConfig, load_walk_config
from sim2real_sim.evaluation import wilson_interval
from sim2real_sim.task import EpisodeStatus

UPRIGHT, FELL = "upright", "fell"
TORSO = "torso"  # MJCF name of the free body


@dataclass(frozen=True)
class WalkConfig:
    max_steps: int = 250  # control ticks per episode: 20 s at the robot's 12.5 Hz
    fall_height: float = 0.6  # torso below this fraction of its home height: fallen
    fall_tilt_deg: float = 60.0  # torso z-axis this far from vertical: fallen
    joint_noise: float = 0.02  # rad, uniform per joint around home, from the episode seed


@dataclass
class WalkStatus(EpisodeStatus):
    distance_m: float = 0.0
    fell: bool = False
    upright_s: float = 0.0
    speed_m_s: float = 0.0
    foot_switches: int = 0


class WalkTask:
    OUTCOMES = (UPRIGHT, FELL)
    EPISODE_COLUMNS = ("distance_m", "upright_s", "speed_m_s", "foot_switches")
    objects: tuple[str, ...] = ()

    def __init__(self, model: mujoco.MjModel, max_steps: int | None = None, config: WalkConfig | None = None) -> None:
        config = config or WalkConfig()
        self.config = config if max_steps is None else replace(config, max_steps=max_steps)
        self._model = model
        self._layout = terms.WalkLayout.of(model, ())
        self._fall = FallConfig(height_fraction=self.config.fall_height, tilt_deg=self.config.fall_tilt_deg)
        free = model.body(TORSO).jntadr[0]
        self._base_adr = int(model.jnt_qposadr[free])  # x, y, z, then the quaternion
        self._hinges = [j for j in range(model.njnt) if j != free and model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE]
        self._home_height = self._start_x = self._start_time = 0.0
        self._stance = np.full(1, -1)  # the last single stance foot (0 left, 1 right, -1 none yet)
        self._status = WalkStatus()
        self._servos = ServoBank(load_walk_config().servos, 1, model.nu, model.actuator_ctrlrange[:, 1])

    @property
    def status(self) -> WalkStatus:
        return self._status

    def randomize(self, data: mujoco.MjData, rng: np.random.Generator) -> None:
        """Joint noise around the home pose; also where and when the episode starts."""
        self._start_x, self._home_height = float(data.qpos[self._base_adr]), float(data.qpos[self._base_adr + 2])
        self._start_time = float(data.time)
        noise = self.config.joint_noise
        for joint in self._hinges:
            adr = self._model.jnt_qposadr[joint]
            low, high = self._model.jnt_range[joint]
            data.qpos[adr] = np.clip(data.qpos[adr] + rng.uniform(-noise, noise), low, high)
        self._servos.randomize(rng)

    def actuate(self, commanded: np.ndarray) -> np.ndarray:
        """One control tick of the servo model: commanded speeds -> actuator speeds."""
        return self._servos.actuate(commanded[None])[0]

    def reset_monitor(self, episode: int, seed: int | None) -> WalkStatus:
        self._status = WalkStatus(episode=episode, seed=seed)
        self._stance = np.full(1, -1)
        return self._status

    def update_monitor(self, data: mujoco.MjData) -> WalkStatus:
        s, c = self._status, self.config
        s.steps += 1
        elapsed = float(data.time - self._start_time)
        s.distance_m = float(data.qpos[self._base_adr] - self._start_x)
        switched, self._stance = terms.stance_switches(terms.foot_contacts(self._layout, data.sensordata[None]),
                                                       self._stance)
        s.foot_switches += int(switched[0])
        if terms.fallen(self._fall, self._layout, data.qpos[None], self._home_height)[0]:
            s.done, s.outcome, s.fell = True, FELL, True
        elif s.steps >= c.max_steps:
            s.done, s.outcome = True, UPRIGHT
        s.upright_s = elapsed
        s.speed_m_s = s.distance_m / elapsed if elapsed > 0 else 0.0
        return s

    def environment_state(self, data: mujoco.MjData) -> np.ndarray:
        """Torso xyz and quaternion wxyz (privileged: the real robot has no position sensor)."""
        return data.qpos[self._base_adr: self._base_adr + 7].copy()

    @staticmethod
    def report_metrics(episodes: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(episodes)
        fall_free = sum(1 for e in episodes if not e["fell"])
        low, high = wilson_interval(fall_free, n)

        def mean(key: str) -> float | None:
            return sum(e[key] for e in episodes) / n if n else None

        return {"fall_free_rate": fall_free / n if n else 0.0, "fall_free_rate_ci95": [low, high],
                "falls": n - fall_free, "mean_distance_m": mean("distance_m"), "mean_speed_m_s": mean("speed_m_s"),
                "mean_upright_s": mean("upright_s"), "mean_foot_switches": mean("foot_switches")}
