"""Minimum-jerk joint-space segments, sampled once per control tick."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Peak of d/dtau of the min-jerk profile 10 tau^3 - 15 tau^4 + 6 tau^5 (at tau = 1/2).
MIN_JERK_PEAK_RATE = 1.875


@dataclass(frozen=True)
class Segment:
    """Move every joint from ``start`` to ``goal`` in ``ticks`` ticks, at rest at both ends."""

    start: np.ndarray
    goal: np.ndarray
    ticks: int

    def at(self, tick: int) -> np.ndarray:
        """Target after ``tick`` ticks (tick 1 is the first command, ``ticks`` reaches the goal)."""
        tau = min(max(tick / self.ticks, 0.0), 1.0)
        s = tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2)
        return self.start + (self.goal - self.start) * s


def min_jerk(
    start: np.ndarray, goal: np.ndarray, *, peak_step: float, min_ticks: int = 1
) -> Segment:
    """The shortest segment whose fastest joint moves at most ``peak_step`` rad per tick."""
    start, goal = np.asarray(start, dtype=float), np.asarray(goal, dtype=float)
    distance = float(np.abs(goal - start).max())
    ticks = max(min_ticks, math.ceil(MIN_JERK_PEAK_RATE * distance / peak_step))
    return Segment(start, goal, ticks)
