"""`sim2real train-rl` on Gymnasium's Pendulum-v1 (no robot env needed): presets, VecNormalize
saved with the model so the policy node's loader serves it, checkpoints and --resume, the best
model, the reward curve, one-line errors, and the test mode's video."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import yaml

from sim2real_common.errors import ConfigError
from sim2real_policy.loaders import load_policy
from sim2real_trainer.errors import ResumeError, TrainerError
from sim2real_trainer.rl.commands import add_train_rl

PRESETS = {"tiny": {"n_envs": 2, "normalize": True, "n_timesteps": 256, "n_steps": 64, "batch_size": 64,
                    "n_epochs": 1, "policy_kwargs": {"net_arch": [16]}}}
LAYOUT = {"observation": [{"feature": "observation.state", "dims": 3}],
          "action": {"mode": "absolute", "n_joints": 1}}


def train_rl(*argv) -> int:
    parser = argparse.ArgumentParser(prog="sim2real")
    add_train_rl(parser.add_subparsers(required=True))
    args = parser.parse_args(["train-rl", *map(str, argv)])
    return args.handler(args)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rl")
    presets = folder / "pendulum.yaml"
    presets.write_text(yaml.safe_dump(PRESETS))
    output = folder / "run"
    assert train_rl("Pendulum-v1", "--output", output, "--hyperparams", presets, "--preset", "tiny",
                    "--checkpoint-every", 128, "--eval-every", 128, "--eval-episodes", 1) == 0
    return output, presets


def test_the_run_folder_serves_through_the_policy_nodes_loader(run):
    output, _ = run
    for name in ("model.zip", "vecnormalize.pkl", "best_model.zip", "train_config.yaml", "reward_curve.png",
                 "eval/evaluations.npz"):
        assert (output / name).exists(), name
    assert yaml.safe_load((output / "train_config.yaml").read_text())["steps"] >= 256
    policy = load_policy(str(output / "model.zip"), layout=LAYOUT)
    assert policy.normalizer is not None  # the VecNormalize statistics came with the model
    action = policy.select_action({"observation.state": np.array([1.0, 0.0, 0.1])})
    assert action.shape == (1,) and np.all(np.abs(action) <= 2.0)


def test_resume_continues_from_the_last_checkpoint(run, tmp_path):
    output, presets = run
    with pytest.raises(TrainerError, match="already holds a run; pass --resume"):
        train_rl("Pendulum-v1", "--output", output, "--hyperparams", presets, "--preset", "tiny")
    assert train_rl("Pendulum-v1", "--output", output, "--hyperparams", presets, "--preset", "tiny", "--resume",
                    "--steps", 512, "--checkpoint-every", 128, "--eval-every", 1000) == 0
    assert yaml.safe_load((output / "train_config.yaml").read_text())["steps"] >= 512
    with pytest.raises(ResumeError, match="no checkpoint to resume from"):
        train_rl("Pendulum-v1", "--output", tmp_path / "empty", "--resume")


def test_bad_presets_and_ids_are_one_line_errors(run, tmp_path):
    _, presets = run
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"default": {"n_step": 64}}))
    with pytest.raises(ConfigError, match=r"bad.yaml: default.n_step: unknown setting \(did you mean 'n_steps'"):
        train_rl("Pendulum-v1", "--hyperparams", bad, "--output", tmp_path / "x")
    with pytest.raises(ConfigError, match="no such preset"):
        train_rl("Pendulum-v1", "--hyperparams", presets, "--preset", "huge", "--output", tmp_path / "y")
    with pytest.raises(TrainerError, match="unknown env id 'Pendulum-v9'"):
        train_rl("Pendulum-v9")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_list_and_test_mode(run, tmp_path, capsys):
    _, presets = run
    assert train_rl("--list") == 0
    output = tmp_path / "pendulum"  # a MuJoCo env renders offscreen (Pendulum-v1 would need pygame)
    assert train_rl("InvertedPendulum-v5", "--output", output, "--hyperparams", presets, "--preset", "tiny",
                    "--steps", 128, "--eval-episodes", 1) == 0
    assert train_rl("InvertedPendulum-v5", "--test", "--model", output / "model.zip", "--episodes", 1,
                    "--video", tmp_path / "pendulum.mp4", "--headless") == 0
    assert "episode 0: return" in capsys.readouterr().out
    assert (tmp_path / "pendulum.mp4").stat().st_size > 1000
