"""Realtime action scheduling (the idea of LeRobot's async inference, in-process).

Every control tick gets an action without waiting for inference: while the current chunk is
being played out, the next chunk is computed in a background thread from the latest
observation. When it arrives, the actions that belong to ticks already elapsed since its
observation are dropped, and the rest replace the queue. A tick with an empty queue is a
missed tick (the node holds the last command) and is counted.
"""

from __future__ import annotations

import math
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from sim2real_policy.interface import ChunkingPolicy, Observation


@dataclass
class TickStats:
    ticks: int = 0
    startup: int = 0  # ticks before the episode's first chunk arrived
    missed: int = 0  # ticks after that with an empty queue
    inferences: int = 0
    latencies_s: list[float] = field(default_factory=list)


class AsyncChunkScheduler:
    def __init__(self, policy: ChunkingPolicy, period_s: float, margin_ticks: int = 2) -> None:
        self.policy = policy
        self.period_s = period_s
        self.margin_ticks = margin_ticks
        self.stats = TickStats()
        self._queue: deque[np.ndarray] = deque()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self._pending: Future | None = None
        self._pending_tick = 0
        self._latency_s = 0.0  # running estimate
        self.last_chunk: np.ndarray | None = None  # newest chunk, for whisker views

    def _infer(self, observation: Observation) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        chunk = np.asarray(self.policy.predict_chunk(observation), dtype=float)
        return chunk, time.perf_counter() - start

    def _lead_ticks(self) -> int:
        """Ticks of queue that must remain when we start the next inference."""
        return math.ceil(self._latency_s / self.period_s) + self.margin_ticks

    def tick(self, observation: Observation) -> np.ndarray | None:
        """Action for this tick (None = missed: the queue ran dry)."""
        self.stats.ticks += 1
        tick = self.stats.ticks
        if self._pending is not None and self._pending.done():
            chunk, latency = self._pending.result()
            self._pending = None
            self.stats.inferences += 1
            self.stats.latencies_s.append(latency)
            self._latency_s = latency if self._latency_s == 0 else 0.8 * self._latency_s + 0.2 * latency
            stale = tick - self._pending_tick  # ticks that passed since its observation
            self._queue = deque(chunk[stale:])
            self.last_chunk = chunk
        if self._pending is None and len(self._queue) <= self._lead_ticks():
            self._pending = self._executor.submit(self._infer, dict(observation))
            self._pending_tick = tick
        if not self._queue:
            if self.last_chunk is None:
                self.stats.startup += 1
            else:
                self.stats.missed += 1
            return None
        return self._queue.popleft()

    def reset(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            try:
                self._pending.result()
            except Exception:  # noqa: BLE001 - an aborted inference of the old episode
                pass
            self._pending = None
        self._queue.clear()
        self._latency_s = 0.0
        self.last_chunk = None
        self.policy.reset()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
