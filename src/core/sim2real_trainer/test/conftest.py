"""Shared fixtures: a tiny LeRobot dataset and one tiny ACT run of `sim2real train` (CPU, no downloads)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")

# A tiny ACT: random ResNet-18 backbone (nothing downloaded), one encoder/decoder layer.
TINY_ACT = ["pretrained_backbone_weights=null", "chunk_size=10", "n_action_steps=10", "dim_model=64",
            "dim_feedforward=128", "n_heads=2", "n_encoder_layers=1", "n_decoder_layers=1"]


def run_cli(*argv: str) -> int:
    """Run one of the trainer's `sim2real` subcommands in-process, as sim2real_bringup.cli registers them."""
    from sim2real_trainer import commands

    parser = argparse.ArgumentParser(prog="sim2real")
    subparsers = parser.add_subparsers(required=True)
    for add in (commands.add_train, commands.add_analyze_actions, commands.add_analyze_predictions,
                commands.add_balance_stats, commands.add_filter_episodes, commands.add_sim_demos,
                commands.add_eval_sim):
        add(subparsers)
    args = parser.parse_args([str(a) for a in argv])
    return args.handler(args)


def train_args(dataset: Path, output: Path, *extra: str, steps: int = 2) -> list[str]:
    return ["train", "--dataset", str(dataset), "--output", str(output), "--steps", str(steps),
            "--save-every", str(steps), "--batch-size", "4", "--num-workers", "0", "--log-every", "1000",
            *extra, "--policy-config", *TINY_ACT]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    from sim2real_testing.datasets import make_tiny_dataset

    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n_episodes=3, n_frames=20)


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory) -> Path:
    """`sim2real train` for 2 steps on episodes 0 and 1 (episode 2 is held out)."""
    output = tmp_path_factory.mktemp("runs") / "act"
    assert run_cli(*train_args(tiny_dataset, output, "--episodes", "0,1")) == 0
    return output
