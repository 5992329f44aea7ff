"""The task protocol: what the sim core, the bridge and the evaluator need from a robot's task.

A robot package registers a task (``sim2real_common.registry.Task``) whose ``build`` names a
class with this shape; the sim core builds it on the compiled scene. The class, without a
model, also tells the evaluator how to judge and report episodes (``OUTCOMES``,
``report_metrics``), so the evaluator node needs no scene of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol

import mujoco
import numpy as np

from sim2real_common.registry import load_object, task_of_scene


@dataclass
class EpisodeStatus:
    """What every task's monitor knows about the current episode; tasks subclass it with their
    own figures (all JSON-friendly through ``to_dict``). ``outcome`` is one of the task's
    ``OUTCOMES`` once ``done``."""

    episode: int = 0
    seed: int | None = None
    steps: int = 0
    done: bool = False
    outcome: Any = None  # a str (or str-valued Enum) of the task's OUTCOMES

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcome"] = getattr(self.outcome, "value", self.outcome)
        return out


class Task(Protocol):
    """A task bound to a compiled model (``Task(model, max_steps=None)``)."""

    OUTCOMES: ClassVar[tuple[str, ...]]  # the taxonomy; OUTCOMES[0] is success
    EPISODE_COLUMNS: ClassVar[tuple[str, ...]]  # optional: status fields the report's episode table shows
    objects: tuple[str, ...]  # bodies whose poses the bridge publishes (objects/<name>/pose)

    @property
    def status(self) -> EpisodeStatus: ...

    def randomize(self, data: mujoco.MjData, rng: np.random.Generator) -> None:
        """Place the task's objects (and perturb the robot) for a seeded episode."""

    def reset_monitor(self, episode: int, seed: int | None) -> EpisodeStatus: ...

    def update_monitor(self, data: mujoco.MjData) -> EpisodeStatus:
        """Account one control tick; ``done`` and ``outcome`` set when the episode ends."""

    def environment_state(self, data: mujoco.MjData) -> np.ndarray:
        """Privileged task state, as the contract's ``observation.environment_state`` lays it out."""

    @staticmethod
    def report_metrics(episodes: list[dict[str, Any]]) -> dict[str, Any]:
        """The task's own figures over finished episodes' status dicts (e.g. pick rate)."""

    # Optional: ``actuate(commanded) -> ctrl``, called once per control tick with the commanded
    # actuator values, returns what the actuators get (a servo model: latency, deadband, gain
    # spread, drawn in ``randomize``), so the ROS graph drives the same servos as training does.


def task_class(scene: str) -> type[Task]:
    """The task class of a registered scene (imported now)."""
    return load_object(task_of_scene(scene).build)


def success_outcome(task: type[Task]) -> str:
    return task.OUTCOMES[0]
