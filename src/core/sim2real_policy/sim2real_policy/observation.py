"""Assemble one observation from messages that arrive separately but share a stamp.

In lockstep the sim publishes every stream of a tick with the same stamp; the policy must act
on a complete, consistent observation, never on a mix of ticks.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from sim2real_policy.interface import Observation

class ObservationAssembler:
    def __init__(self, required: list[str], keep: int = 8) -> None:
        self.required = list(required)
        self._keep = keep
        self._pending: OrderedDict[int, Observation] = OrderedDict()
        self.latest: Observation = {}
        self.latest_stamp: int | None = None

    def add(self, feature: str, stamp_ns: int, value: np.ndarray) -> Observation | None:
        """Record a value; returns the observation of ``stamp_ns`` once it is complete."""
        self.latest[feature] = value
        if feature not in self.required:
            return None
        obs = self._pending.setdefault(stamp_ns, {})
        obs[feature] = value
        while len(self._pending) > self._keep:
            self._pending.popitem(last=False)
        if all(k in obs for k in self.required):
            del self._pending[stamp_ns]
            self.latest_stamp = stamp_ns
            return obs
        return None

    def clear(self) -> None:
        self._pending.clear()
        self.latest = {}
        self.latest_stamp = None
