"""Loop timing statistics for the policy node's diagnostics and the benchmarks (ROS-free)."""

from __future__ import annotations

from collections import deque

import numpy as np


class TimingWindow:
    """Recent inference latencies and loop periods (seconds), summarised in milliseconds."""

    def __init__(self, size: int = 300) -> None:
        self.latencies: deque[float] = deque(maxlen=size)
        self.periods: deque[float] = deque(maxlen=size)
        self._last_tick: float | None = None

    def tick(self, now: float) -> None:
        if self._last_tick is not None:
            self.periods.append(now - self._last_tick)
        self._last_tick = now

    def restart(self) -> None:
        """Forget the last tick time (a new episode is not one long period)."""
        self._last_tick = None

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.latencies:
            lat = np.array(self.latencies) * 1e3
            out.update(inference_ms_p50=float(np.percentile(lat, 50)),
                       inference_ms_p99=float(np.percentile(lat, 99)), inference_ms_max=float(lat.max()))
        if self.periods:
            per = np.array(self.periods) * 1e3
            out.update(loop_period_ms_mean=float(per.mean()), loop_jitter_ms_std=float(per.std()),
                       loop_period_ms_max=float(per.max()))
        return out
