"""Async chunk scheduler: no tick waits for inference, chunks are aligned to the ticks that
elapsed while they were computed, reset() starts clean."""

import time

import numpy as np

from sim2real_policy.interface import Feature
from sim2real_policy.scheduler import AsyncChunkScheduler


class TickEchoPolicy:
    """Predicts, from an observation taken at tick t, the actions t, t+1, ... (slowly)."""

    input_features = (Feature("tick", (1,)),)
    output_features = (Feature("action", (1,)),)

    def __init__(self, latency_s: float, chunk: int) -> None:
        self.latency_s, self.chunk, self.resets = latency_s, chunk, 0

    def reset(self) -> None:
        self.resets += 1

    def select_action(self, observation):
        return self.predict_chunk(observation)[0]

    def predict_chunk(self, observation):
        time.sleep(self.latency_s)
        t = float(observation["tick"][0])
        return (t + np.arange(self.chunk, dtype=float))[:, None]


def _run(scheduler, ticks, period):
    actions = {}
    start = time.perf_counter()
    for k in range(1, ticks + 1):
        action = scheduler.tick({"tick": np.array([k])})
        if action is not None:
            actions[k] = float(action[0])
        time.sleep(max(0.0, start + k * period - time.perf_counter()))
    return actions


def test_slow_inference_never_stalls_and_actions_stay_aligned():
    policy = TickEchoPolicy(latency_s=0.05, chunk=20)  # 50 ms inference at a 33 ms period
    scheduler = AsyncChunkScheduler(policy, period_s=1 / 30)
    actions = _run(scheduler, 60, 1 / 30)
    scheduler.close()
    first = min(actions)
    assert scheduler.stats.startup == first - 1  # only the first inference is waited out
    # Every later tick has an action or is counted missed (a loaded machine may starve the
    # inference thread; the jitter and missed-tick figures are tests/bench/bench_policy.py's).
    assert len(actions) + scheduler.stats.missed == 60 - scheduler.stats.startup
    assert all(actions[k] == k for k in actions)  # each action belongs to its own tick
    assert scheduler.stats.inferences >= 3 and len(scheduler.stats.latencies_s) == scheduler.stats.inferences


def test_reset_clears_the_queue_and_resets_the_policy():
    policy = TickEchoPolicy(latency_s=0.0, chunk=10)
    scheduler = AsyncChunkScheduler(policy, period_s=1 / 30)
    _run(scheduler, 5, 0.0)
    scheduler.reset()
    assert policy.resets == 1 and scheduler.last_chunk is None
    assert scheduler.tick({"tick": np.array([100])}) is None  # a fresh episode waits for a fresh chunk
    scheduler.close()
