"""Policy inference latency on CPU, printed (asserts nothing about time).

Default-size ACT (LeRobot 0.4.4 ``ACTConfig`` defaults: chunk 100, dim_model 512, ResNet-18
backbone with random weights) reading the joint state and two 96x128 cameras, served through
``load_policy`` exactly as the policy node serves it (checkpoint processors included):

- per ``select_action`` call in steady state (one chunk inference every n_action_steps calls,
  queue pops in between);
- per chunk inference (``reset()`` before each call, so every call runs the network);
- with ``--onnx``: the same for the ONNX export served by the ONNX loader;
- a 30 Hz control loop for ``--loop-seconds``: synchronous ``select_action`` (what a naive node
  does) vs the policy node's realtime ``AsyncChunkScheduler`` (next chunk computed in the
  background): loop-period jitter, late ticks (a tick that started > 1 period late) and missed
  ticks (the scheduler's queue ran dry after the first chunk).

The measuring functions (``Latency``, ``time_calls``, ``select_action_latency``,
``chunk_inference_latency``) are meant for reuse by other benchmarks (e.g. the policy node's).

Run: source scripts/env.sh && python tests/bench/bench_policy.py [--calls 500] [--chunks 20] [--onnx]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sim2real_policy.interface import Observation, Policy
from sim2real_policy.loaders import load_policy

CAMERAS = ("overhead_cam", "wrist_cam")
IMAGE_SHAPE = (96, 128)


@dataclass(frozen=True)
class Latency:
    n: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = np.asarray(seconds) * 1e3
        return cls(
            len(ms),
            float(np.percentile(ms, 50)),
            float(np.percentile(ms, 99)),
            float(ms.mean()),
            float(ms.max()),
        )

    def __str__(self) -> str:
        return (
            f"p50 {self.p50_ms:8.3f} ms  p99 {self.p99_ms:8.3f} ms  mean {self.mean_ms:8.3f} ms  "
            f"max {self.max_ms:8.3f} ms  (n={self.n})"
        )


def time_calls(
    fn: Callable[[], object], n: int, *, before: Callable[[], object] | None = None
) -> list[float]:
    """Wall time of ``n`` calls of ``fn`` (s); ``before`` runs untimed ahead of each call."""
    times = []
    for _ in range(n):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def select_action_latency(policy: Policy, observations: Sequence[Observation], calls: int) -> Latency:
    """Steady state: every call as the control loop makes it (after one untimed warm-up chunk)."""
    feed = itertools.cycle(observations)
    policy.reset()
    policy.select_action(next(feed))
    return Latency.of(time_calls(lambda: policy.select_action(next(feed)), calls))


def chunk_inference_latency(policy: Policy, observations: Sequence[Observation], chunks: int) -> Latency:
    """Calls that run the network: ``reset()`` (untimed) empties the queue before each one."""
    feed = itertools.cycle(observations)
    policy.reset()
    policy.select_action(next(feed))  # warm-up
    return Latency.of(time_calls(lambda: policy.select_action(next(feed)), chunks, before=policy.reset))


def random_observations(n: int, seed: int = 0) -> list[Observation]:
    """Joint state and camera images, made ahead so that timing covers the policy only."""
    rng = np.random.default_rng(seed)
    return [
        {"observation.state": rng.uniform(-1, 1, 6)}
        | {
            f"observation.images.{c}": rng.integers(0, 256, (*IMAGE_SHAPE, 3), dtype=np.uint8)
            for c in CAMERAS
        }
        for _ in range(n)
    ]


def write_default_act_checkpoint(directory: Path) -> Path:
    """A pretrained_model folder of an untrained default-size ACT with unit normalisation stats."""
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors

    features = {"observation.state": PolicyFeature(FeatureType.STATE, (6,))}
    features.update(
        {f"observation.images.{c}": PolicyFeature(FeatureType.VISUAL, (3, *IMAGE_SHAPE)) for c in CAMERAS}
    )
    config = ACTConfig(
        device="cpu",
        push_to_hub=False,
        pretrained_backbone_weights=None,
        input_features=features,
        output_features={"action": PolicyFeature(FeatureType.ACTION, (6,))},
    )
    all_features = {**features, **config.output_features}
    # unit stats, shaped like LeRobot's: per channel (3, 1, 1) for images, per element otherwise
    stats = {
        key: {"mean": np.zeros(shape), "std": np.ones(shape)}
        for key, f in all_features.items()
        for shape in [(f.shape[0], 1, 1) if f.type is FeatureType.VISUAL else f.shape]
    }
    preprocessor, postprocessor = make_pre_post_processors(config, dataset_stats=stats)
    ACTPolicy(config).save_pretrained(directory)
    preprocessor.save_pretrained(directory)
    postprocessor.save_pretrained(directory)
    return directory


@dataclass(frozen=True)
class LoopStats:
    ticks: int
    period_mean_ms: float
    jitter_ms: float  # std of the tick periods
    period_max_ms: float
    late: int  # ticks that started more than one period after their deadline
    missed: int  # ticks without an action once the first chunk had arrived

    def __str__(self) -> str:
        return (f"period mean {self.period_mean_ms:6.2f} ms  jitter (std) {self.jitter_ms:6.2f} ms  "
                f"max {self.period_max_ms:7.2f} ms  late ticks {self.late}  missed ticks {self.missed}  "
                f"(n={self.ticks})")


def control_loop(act: Callable[[Observation], object], observations: Sequence[Observation],
                 seconds: float, hz: float = 30.0) -> tuple[LoopStats, int]:
    """Run ``act`` on a fixed-rate schedule; returns loop stats and the number of None actions."""
    period, feed = 1.0 / hz, itertools.cycle(observations)
    starts, none_actions = [], 0
    t0 = time.perf_counter()
    for k in range(int(seconds * hz)):
        deadline = t0 + k * period
        time.sleep(max(0.0, deadline - time.perf_counter()))
        starts.append(time.perf_counter())
        none_actions += act(next(feed)) is None
    periods = np.diff(starts) * 1e3
    late = int(np.sum(np.array(starts) - (t0 + np.arange(len(starts)) * period) > period))
    return LoopStats(len(starts), float(periods.mean()), float(periods.std()), float(periods.max()), late, 0), none_actions


def loop_report(policy: Policy, observations: Sequence[Observation], seconds: float) -> None:
    from sim2real_policy.scheduler import AsyncChunkScheduler

    policy.reset()
    sync, _ = control_loop(policy.select_action, observations, seconds)
    print(f"  30 Hz loop, synchronous select_action: {sync}")
    scheduler = AsyncChunkScheduler(policy, period_s=1 / 30)
    stats, _ = control_loop(scheduler.tick, observations, seconds)
    scheduler.close()
    stats = LoopStats(stats.ticks, stats.period_mean_ms, stats.jitter_ms, stats.period_max_ms, stats.late,
                      scheduler.stats.missed)
    print(f"  30 Hz loop, async chunk scheduler:     {stats}  "
          f"(startup ticks {scheduler.stats.startup}, chunk inferences {scheduler.stats.inferences})")


def report(name: str, policy: Policy, args: argparse.Namespace) -> None:
    observations = random_observations(8)
    print(f"{name}:")
    print(f"  per select_action call:  {select_action_latency(policy, observations, args.calls)}")
    print(f"  per chunk inference:     {chunk_inference_latency(policy, observations, args.chunks)}")
    if args.loop_seconds > 0:
        loop_report(policy, observations, args.loop_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500, help="timed select_action calls (steady state)")
    parser.add_argument("--chunks", type=int, default=20, help="timed chunk inferences")
    parser.add_argument("--onnx", action="store_true", help="also export to ONNX and time the ONNX loader")
    parser.add_argument("--loop-seconds", type=float, default=10.0, help="length of each 30 Hz loop run (0 = skip)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = write_default_act_checkpoint(Path(tmp) / "pretrained_model")
        policy = load_policy(str(checkpoint))
        config = policy.policy.config
        params = sum(p.numel() for p in policy.policy.parameters())
        print(
            f"ACT defaults: {params / 1e6:.1f} M params, chunk_size {config.chunk_size}, n_action_steps "
            f"{config.n_action_steps}, dim_model {config.dim_model}, {config.vision_backbone}; "
            f"cameras {', '.join(CAMERAS)} at {IMAGE_SHAPE[1]}x{IMAGE_SHAPE[0]}; "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads"
        )
        report("PyTorch (LeRobot checkpoint)", policy, args)
        if args.onnx:
            from sim2real_policy.exporters.act_onnx import export_act_onnx

            start = time.perf_counter()
            onnx_path, _ = export_act_onnx(checkpoint, Path(tmp) / "act.onnx")
            print(f"ONNX export: {time.perf_counter() - start:.1f} s")
            report("ONNX Runtime (exported)", load_policy(str(onnx_path)), args)


if __name__ == "__main__":
    main()
