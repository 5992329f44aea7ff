"""Training throughput on CPU, printed (asserts nothing about time).

Default-size ACT (LeRobot 0.4.4 ``ACTConfig`` defaults: chunk 100, dim_model 512, 4 encoder / 1
decoder layers, VAE, ResNet-18 backbone with random weights) on a LeRobot dataset with the joint
state and two 96x128 cameras (overhead_cam, wrist_cam; AV1 videos decoded by torchcodec), batch
8, trained by ``sim2real_trainer.training.train`` -- what ``sim2real train`` runs. Reported after
``--warmup`` steps: steps/s, samples/s, and the per-step split between data loading (decode +
preprocess) and the update (forward, backward, optimizer), from LeRobot's own meters.

``--variant state`` measures the README's "real result" configuration instead: a small ACT
(dim_model 256, 2 encoder layers, no VAE, chunk 30) on the joint state and the privileged
environment state of expert demos (no cameras), batch 32 -- the ``sim2real train`` command the
README documents. Its items stay in memory after the first epoch when loaded in-process
(``num_workers 0``), so that run's figures start after one epoch.

Run: source scripts/env.sh && python tests/bench/bench_train.py [--variant vision state] [--steps 40]
     [--num-workers 0 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sim2real_testing.datasets import make_tiny_dataset
from sim2real_trainer.training import TrainOptions, train

CAMERAS = {"overhead_cam": (96, 128), "wrist_cam": (96, 128)}
VISION = {"pretrained_backbone_weights": "null"}
STATE = {"pretrained_backbone_weights": "null", "use_vae": "false", "chunk_size": "30", "n_action_steps": "10",
         "dim_model": "256", "dim_feedforward": "1024", "n_encoder_layers": "2"}


class StepClock:
    """A training callback that keeps the wall time and LeRobot's timing meters of every step."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.update_s: list[float] = []
        self.dataloading_s: list[float] = []

    def on_start(self, step: int, total_steps: int) -> None:
        self.times.append(time.perf_counter())

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        self.times.append(time.perf_counter())
        self.update_s.append(metrics["update_s"])
        self.dataloading_s.append(metrics["dataloading_s"])

    def on_checkpoint(self, step: int, checkpoint_dir: Path) -> None:
        pass


def bench(dataset: Path, output: Path, *, steps: int, warmup: int, batch_size: int, num_workers: int,
          overrides: dict[str, str], lr: float | None = None) -> None:
    clock = StepClock()
    options = TrainOptions(dataset=dataset, output=output, steps=steps, save_every=steps, log_every=10**9,
                           batch_size=batch_size, num_workers=num_workers, lr=lr, policy_overrides=overrides)
    train(options, callbacks=[clock])
    periods = np.diff(clock.times)[warmup:]
    rate = 1.0 / periods.mean()
    print(f"num_workers {num_workers}: {rate:.2f} steps/s, {rate * batch_size:.1f} samples/s  "
          f"(step {periods.mean() * 1e3:.0f} ms: update {np.mean(clock.update_s[warmup:]) * 1e3:.0f} ms, "
          f"data {np.mean(clock.dataloading_s[warmup:]) * 1e3:.0f} ms; {len(periods)} steps after {warmup} warm-up)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="training steps per run")
    parser.add_argument("--warmup", type=int, default=5, help="steps left out of the figures")
    parser.add_argument("--batch-size", type=int, help="default 8 (vision), 32 (state)")
    parser.add_argument("--num-workers", type=int, nargs="+", default=[0, 2], help="data loader workers to compare")
    parser.add_argument("--variant", nargs="+", choices=("vision", "state"), default=["vision", "state"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if "vision" in args.variant:
            dataset = make_tiny_dataset(Path(tmp) / "dataset", n_episodes=4, n_frames=150, cameras=CAMERAS)
            batch = args.batch_size or 8
            print(f"[vision] ACT defaults, cameras {', '.join(CAMERAS)} at 128x96, batch {batch}; "
                  f"torch {torch.__version__}, {torch.get_num_threads()} threads; 4 episodes x 150 frames")
            for workers in args.num_workers:
                bench(dataset, Path(tmp) / f"run_{workers}", steps=args.steps, warmup=args.warmup,
                      batch_size=batch, num_workers=workers, overrides=VISION)
        if "state" in args.variant:
            from sim2real_trainer.sim_demos import record_expert_demos

            summary = record_expert_demos(Path(tmp) / "state_demos", 4, cameras={}, environment_state=True)
            batch = args.batch_size or 32
            # In-process loading keeps camera-less items in memory after their first read: the
            # figures start after one epoch, as in a long run.
            epoch = -(-summary.frames // batch)
            print(f"[state] small ACT ({', '.join(f'{k}={v}' for k, v in STATE.items() if k != 'pretrained_backbone_weights')}) "
                  f"on observation.state + environment_state, batch {batch}; 4 expert episodes, {summary.frames} "
                  f"frames; num_workers 0 figures after the first epoch ({epoch} steps)")
            for workers in args.num_workers:
                warmup = max(args.warmup, epoch) if workers == 0 else args.warmup
                bench(summary.root, Path(tmp) / f"state_{workers}", steps=max(args.steps, warmup + 20), warmup=warmup,
                      batch_size=batch, num_workers=workers, overrides=STATE, lr=1e-4)


if __name__ == "__main__":
    main()
