"""Scripted reach expert: two-link inverse kinematics to the observed target, then joint steps
of at most ``step`` rad per tick from the observed joint positions towards that solution."""

from __future__ import annotations

import numpy as np

from sim2real_policy.interface import Feature, Observation


class ReachExpert:
    """A ``sim2real_policy.interface.Policy`` for the toy arm's reach task."""

    input_features = (Feature("observation.state", (2,)), Feature("observation.environment_state", (3,)))
    output_features = (Feature("action", (2,)),)

    def __init__(self, upper: float, fore: float, limits: np.ndarray, step: float = 0.12) -> None:
        self.upper, self.fore, self.limits, self.step = upper, fore, limits, step
        self._goal: np.ndarray | None = None

    def reset(self) -> None:
        self._goal = None

    def select_action(self, observation: Observation) -> np.ndarray:
        q = np.asarray(observation["observation.state"], dtype=float)
        if self._goal is None:  # the target does not move within an episode
            x, y, _ = observation["observation.environment_state"]
            self._goal = self._solve(float(x), float(y), q)
        return (q + np.clip(self._goal - q, -self.step, self.step)).astype(np.float32)

    def _solve(self, x: float, y: float, q: np.ndarray) -> np.ndarray:
        """The elbow-left or elbow-right solution within the joint limits nearest to ``q``."""
        a, b = self.upper, self.fore
        cos_elbow = np.clip((x * x + y * y - a * a - b * b) / (2 * a * b), -1.0, 1.0)
        solutions = []
        for elbow in (np.arccos(cos_elbow), -np.arccos(cos_elbow)):
            shoulder = np.arctan2(y, x) - np.arctan2(b * np.sin(elbow), a + b * np.cos(elbow))
            solutions.append(np.array([shoulder, elbow]))
        inside = [s for s in solutions if np.all((s >= self.limits[:, 0]) & (s <= self.limits[:, 1]))]
        return min(inside or solutions, key=lambda s: float(np.abs(s - q).sum()))


def expert_for_scene(scene: str) -> ReachExpert:
    """The registered expert factory: link lengths and joint limits read from the scene."""
    from sim2real_sim.scenes import load_model

    model = load_model(scene)
    limits = np.array([model.joint(name).range for name in ("shoulder", "elbow")])
    return ReachExpert(upper=float(model.body("fore").pos[0]), fore=float(model.site("tip").pos[0]), limits=limits)
