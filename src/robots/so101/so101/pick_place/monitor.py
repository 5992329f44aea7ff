"""Pick-place task monitor: classifies how an episode ended.

Outcomes:
- ``success``: the block rests inside the bowl;
- ``never_picked_up``: the block was never lifted off the table;
- ``dropped_during_transport``: the block was lifted, then landed away from the bowl;
- ``missed_goal``: the block was lifted and let down near the bowl, but came to rest outside it;
- ``timeout``: none of the above when the step budget ran out (e.g. still held in the air).

The monitor only looks at block and bowl poses, so hand-made trajectories (a block teleported
into the bowl, lifted and let go mid-air, ...) are judged exactly like policy rollouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from sim2real_sim.task import EpisodeStatus


class Outcome(str, Enum):
    SUCCESS = "success"
    NEVER_PICKED_UP = "never_picked_up"
    DROPPED_DURING_TRANSPORT = "dropped_during_transport"
    MISSED_GOAL = "missed_goal"
    TIMEOUT = "timeout"


FAILURE_CLASSES: tuple[Outcome, ...] = tuple(o for o in Outcome if o is not Outcome.SUCCESS)


@dataclass(frozen=True)
class MonitorConfig:
    table_z: float = 0.0  # height of the table surface (m)
    block_half_size: float = 0.0125  # m
    lift_threshold: float = 0.02  # block bottom above the table that counts as lifted (m)
    bowl_inner_radius: float = 0.055  # m
    bowl_rim_height: float = 0.038  # m
    release_radius: float = 0.10  # landing this close to the bowl centre counts as a placement (m)
    settle_speed: float = 0.05  # block speed below which it is at rest (m/s)
    settle_steps: int = 5  # ticks at rest in the bowl that end the episode with success
    max_steps: int = 300  # episode budget in control ticks
    workspace_radius: float = 0.7  # block beyond this from the base ends the episode (m)


@dataclass
class Event:
    kind: str  # "pick", "drop" or "place"
    step: int
    position: tuple[float, float, float]


@dataclass
class PickPlaceStatus(EpisodeStatus):
    """The episode as the pick-place monitor sees it (JSON-friendly via ``to_dict``)."""

    max_height: float = 0.0  # highest block centre height above the table (m)
    picked: bool = False
    events: list[Event] = field(default_factory=list)


class PickPlaceMonitor:
    """Feed it the block pose once per control tick; it tells when and how the episode ended."""

    def __init__(self, config: MonitorConfig, bowl_xy: np.ndarray) -> None:
        self.config = config
        self.bowl_xy = np.asarray(bowl_xy, dtype=float)[:2]
        self.status = PickPlaceStatus()
        self._lifted = False
        self._settled_in_bowl = 0

    def reset(self, episode: int, seed: int | None) -> PickPlaceStatus:
        self.status = PickPlaceStatus(episode=episode, seed=seed)
        self._lifted = False
        self._settled_in_bowl = 0
        return self.status

    def in_bowl(self, block_pos: np.ndarray) -> bool:
        c = self.config
        dist = float(np.linalg.norm(block_pos[:2] - self.bowl_xy))
        return dist < c.bowl_inner_radius - 0.5 * c.block_half_size and (
            block_pos[2] - c.table_z < c.bowl_rim_height
        )

    def update(self, block_pos: np.ndarray, block_speed: float) -> PickPlaceStatus:
        """Account one control tick; returns the (possibly finished) status."""
        s, c = self.status, self.config
        if s.done:
            return s
        s.steps += 1
        height = float(block_pos[2] - c.table_z)
        s.max_height = max(s.max_height, height)
        lifted = height - c.block_half_size > c.lift_threshold
        where = (float(block_pos[0]), float(block_pos[1]), float(block_pos[2]))
        if lifted and not self._lifted:
            s.picked = True
            s.events.append(Event("pick", s.steps, where))
        elif self._lifted and not lifted:
            near_goal = np.linalg.norm(block_pos[:2] - self.bowl_xy) < c.release_radius
            s.events.append(Event("place" if near_goal else "drop", s.steps, where))
        self._lifted = lifted

        at_rest_in_bowl = self.in_bowl(block_pos) and not lifted and block_speed < c.settle_speed
        self._settled_in_bowl = self._settled_in_bowl + 1 if at_rest_in_bowl else 0
        off_table = (
            np.linalg.norm(block_pos[:2]) > c.workspace_radius or height < -c.block_half_size
        )
        if self._settled_in_bowl >= c.settle_steps or off_table or s.steps >= c.max_steps:
            self._finish(block_pos)
        return s

    def _finish(self, block_pos: np.ndarray) -> None:
        s = self.status
        s.done = True
        landings = [e.kind for e in s.events if e.kind in ("drop", "place")]
        if self.in_bowl(block_pos) and not self._lifted:
            s.outcome = Outcome.SUCCESS
        elif not s.picked:
            s.outcome = Outcome.NEVER_PICKED_UP
        elif self._lifted or not landings:
            s.outcome = Outcome.TIMEOUT
        elif landings[-1] == "drop":
            s.outcome = Outcome.DROPPED_DURING_TRANSPORT
        else:
            s.outcome = Outcome.MISSED_GOAL
