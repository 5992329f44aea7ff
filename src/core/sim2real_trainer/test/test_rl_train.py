"""`sim2real train-rl` on Gymnasium's Pendulum-v1 (no robot env needed): presets, VecNormalize
saved with the model so the policy node's loader serves it, checkpoints and --resume, the best
model, the reward curve, one-line errors, the vec_env hook, and the test mode's video."""

from __future__ import annotations

import argparse
import importlib.util
import shutil

import numpy as np
import pytest
import torch
import yaml

from sim2real_common.errors import ConfigError
from sim2real_policy.loaders import load_policy
from sim2real_trainer.errors import ResumeError, TrainerError
from sim2real_trainer.rl.commands import add_train_rl
from sim2real_trainer.rl.curves import training_episodes
from sim2real_trainer.rl.hyperparams import load_preset, parse_preset
from sim2real_trainer.rl.run_files import RunFiles, vecnormalize_beside
from sim2real_trainer.rl.train import read_run_config

TINY = {"n_envs": 2, "normalize": True, "n_timesteps": 512, "n_steps": 64, "batch_size": 64, "n_epochs": 1,
        "policy_kwargs": {"net_arch": [16]}}
PRESETS = {"tiny": TINY, "hooked": {**TINY, "normalize": False, "n_timesteps": 128,
                                    "vec_env": "test_rl_train:dummy_factory"},
           "short": {**TINY, "n_timesteps": 128, "env_kwargs": {"max_episode_steps": 7}}}
FACTORY_CALLS = []


def dummy_factory(env_id, n_envs, seed, **env_kwargs):
    """A preset's vec_env hook (as the humanoid's batched VecEnv is named)."""
    import gymnasium
    from stable_baselines3.common.vec_env import DummyVecEnv

    FACTORY_CALLS.append((env_id, n_envs, seed))
    venv = DummyVecEnv([lambda: gymnasium.make(env_id, **env_kwargs)] * n_envs)
    venv.seed(seed)
    return venv


def train_rl(*argv) -> int:
    parser = argparse.ArgumentParser(prog="sim2real")
    add_train_rl(parser.add_subparsers(required=True))
    args = parser.parse_args(["train-rl", *map(str, argv)])
    return args.handler(args)


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    path = tmp_path_factory.mktemp("presets") / "pendulum.yaml"
    path.write_text(yaml.safe_dump(PRESETS))
    return path


@pytest.fixture(scope="module")
def run(presets, tmp_path_factory):
    output = tmp_path_factory.mktemp("rl") / "run"
    assert train_rl("Pendulum-v1", "--output", output, "--hyperparams", presets, "--preset", "tiny",
                    "--checkpoint-every", 256, "--eval-every", 256, "--eval-episodes", 1) == 0
    torch.set_num_threads(1)
    return output


def test_the_run_folder_has_every_file(run, presets):
    files = RunFiles(run)
    for path in (files.model, files.vecnormalize, files.sidecar, files.best_model, files.best_vecnormalize,
                 files.best_sidecar, files.evaluations, files.config, files.curve):
        assert path.is_file(), path
    assert files.checkpoint_steps() == [256, 512]
    assert all(path.is_file() for path in files.checkpoint(512))
    saved, steps = read_run_config(run)  # round trip: the preset as the file gave it
    assert steps == 512 and saved.env_id == "Pendulum-v1" and saved.seed == 0
    assert saved.preset == load_preset(presets, "tiny")
    steps, returns = training_episodes(files)
    assert len(returns) == 2 and list(steps) == [400, 400]  # one 200-step episode per env
    assert np.load(files.evaluations)["timesteps"].tolist() == [256, 512]
    assert list(files.tensorboard.glob("PPO_*/events.out.tfevents.*"))  # tensorboard is in the lock file


def test_the_policy_nodes_loader_serves_the_run_with_its_statistics(run):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    policy = load_policy(str(run / "model.zip"))  # model.yaml beside it: no layout argument
    assert policy.normalizer is not None and policy.normalizer.source.name == "vecnormalize.pkl"
    obs = np.array([0.6, -0.8, 1.5])
    stats = VecNormalize.load(str(run / "vecnormalize.pkl"), make_vec_env("Pendulum-v1"))
    expected, _ = PPO.load(run / "model.zip").predict(stats.normalize_obs(obs).astype(np.float32), deterministic=True)
    np.testing.assert_allclose(policy.select_action({"observation.state": obs}), expected, rtol=1e-5)
    best = load_policy(str(run / "best_model.zip"))
    assert best.normalizer.source.name == "best_vecnormalize.pkl"


def test_resume_counts_steps_on(run, presets, tmp_path):
    resumed = tmp_path / "run"
    shutil.copytree(run, resumed)
    with pytest.raises(TrainerError, match="already holds a run; pass --resume"):
        train_rl("Pendulum-v1", "--output", resumed, "--hyperparams", presets, "--preset", "tiny")
    with pytest.raises(ResumeError, match="at 512 of 512 steps; pass --steps"):
        train_rl("--output", resumed, "--resume")
    with pytest.raises(ResumeError, match="drop --preset"):
        train_rl("--output", resumed, "--resume", "--preset", "tiny", "--steps", 768)
    assert train_rl("--output", resumed, "--resume", "--steps", 768, "--checkpoint-every", 256,
                    "--eval-every", 256) == 0
    files = RunFiles(resumed)
    assert read_run_config(resumed)[1] == 768 and files.checkpoint_steps() == [256, 512, 768]
    assert np.load(files.evaluations)["timesteps"].tolist() == [256, 512, 768]  # the history goes on
    assert sorted(p.name for p in files.monitor.iterdir()) == ["000000000", "000000512"]
    with pytest.raises(ResumeError, match="not a train-rl run"):
        train_rl("Pendulum-v1", "--output", tmp_path / "empty", "--resume")


def test_a_run_without_checkpoint_does_not_block_its_retry(presets, tmp_path, capsys):
    output = tmp_path / "killed"
    output.mkdir()
    (output / "train_config.yaml").write_text("env_id: Pendulum-v1\n")  # killed before its first checkpoint
    with pytest.raises(ResumeError, match="no checkpoint to resume from"):
        from sim2real_trainer.rl.train import last_checkpoint

        last_checkpoint(output)
    assert train_rl("Pendulum-v1", "--output", output, "--hyperparams", presets, "--preset", "hooked",
                    "--eval-every", 1000) == 0
    assert "starting it afresh" in capsys.readouterr().out
    assert [calls[:2] for calls in FACTORY_CALLS] == [("Pendulum-v1", 2), ("Pendulum-v1", 1)]  # training, eval
    assert not (output / "vecnormalize.pkl").exists()  # normalize: false
    assert load_policy(str(output / "model.zip")).normalizer is None
    assert list((output / "monitor" / "000000000").glob("*.monitor.csv"))


def test_bad_presets_and_ids_are_one_line_errors(presets, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"default": {"n_step": 64}, "seeded": {"seed": 3}, "typed": {"gamma": "high"},
                                   "act": {"policy_kwargs": {"activation_fn": "Relu"}}}))
    with pytest.raises(ConfigError, match=r"bad.yaml: default.n_step: unknown setting \(did you mean 'n_steps'") as err:
        train_rl("Pendulum-v1", "--hyperparams", bad, "--output", tmp_path / "x")
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="seeded.seed: set by --seed"):
        load_preset(bad, "seeded")
    with pytest.raises(ConfigError, match="typed.gamma: expected a number, found 'high'"):
        load_preset(bad, "typed")
    with pytest.raises(ConfigError, match=r"act.policy_kwargs.activation_fn: no class 'Relu' in torch.nn \(did you "
                                          "mean 'ReLU'"):
        load_preset(bad, "act")
    with pytest.raises(ConfigError, match="no such preset"):
        train_rl("Pendulum-v1", "--hyperparams", presets, "--preset", "huge", "--output", tmp_path / "y")
    with pytest.raises(TrainerError, match=r"unknown env id 'Pendulum-v9' \(did you mean 'Pendulum-v1'"):
        train_rl("Pendulum-v9")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_presets_resolve_classes_and_write_back_as_read():
    preset = parse_preset({"n_envs": 4, "normalize": {"norm_reward": False}, "learning_rate": 1.0e-3,
                           "policy_kwargs": {"net_arch": [8], "activation_fn": "ReLU"}}, name="p", source="f.yaml")
    assert preset.ppo_arguments()["policy_kwargs"]["activation_fn"] is torch.nn.ReLU
    assert parse_preset(preset.settings(), name="p", source="f.yaml") == preset


def test_list_prints_the_registered_ids(capsys):
    from sim2real_common.registry import register_envs

    assert train_rl("--list") == 0
    assert capsys.readouterr().out.split() == (register_envs() or "no robot package registers an env".split())


def test_each_model_finds_its_own_statistics(run):
    assert vecnormalize_beside(run / "model.zip").name == "vecnormalize.pkl"
    assert vecnormalize_beside(run / "best_model.zip").name == "best_vecnormalize.pkl"
    assert vecnormalize_beside(run / "checkpoints" / "rl_model_256_steps.zip").name == \
        "rl_model_vecnormalize_256_steps.pkl"


def test_test_mode_prints_episodes_and_writes_an_mp4(presets, tmp_path, capsys):
    import imageio.v3 as iio

    output = tmp_path / "pendulum"  # a MuJoCo env renders offscreen (Pendulum-v1 would need pygame)
    assert train_rl("InvertedPendulum-v5", "--output", output, "--hyperparams", presets, "--preset", "tiny",
                    "--steps", 128, "--eval-episodes", 1) == 0
    video = tmp_path / "pendulum.mp4"
    assert train_rl("--test", "--model", output / "best_model.zip", "--episodes", 2, "--video", video,
                    "--headless") == 0  # the env id comes from the run's train_config.yaml
    out = capsys.readouterr().out
    lengths = [int(line.split(", ")[1].split()[0]) for line in out.splitlines() if line.startswith("episode ")]
    assert len(lengths) == 2 and "mean return" in out
    assert iio.improps(video, plugin="pyav").shape[0] == sum(lengths) + 2  # each episode's first frame too


@pytest.mark.skipif(importlib.util.find_spec("pygame") is not None, reason="pygame renders Pendulum-v1")
def test_test_mode_says_when_the_env_cannot_render(run, tmp_path):
    with pytest.raises(TrainerError, match="Pendulum-v1 cannot render: pygame is not installed"):
        train_rl("--test", "--model", run / "model.zip", "--episodes", 1, "--video", tmp_path / "v.mp4")
    assert not (tmp_path / "v.mp4").exists()


def test_the_presets_env_kwargs_make_the_training_and_the_test_env(presets, tmp_path, capsys):
    output = tmp_path / "short"
    assert train_rl("Pendulum-v1", "--output", output, "--hyperparams", presets, "--preset", "short",
                    "--eval-episodes", 1) == 0
    assert read_run_config(output)[0].preset.env_kwargs == {"max_episode_steps": 7}
    rows = [line.split(",") for monitor in (output / "monitor").rglob("*.monitor.csv")
            for line in monitor.read_text().splitlines()[2:]]  # header lines: metadata, r,l,t
    assert rows and {int(row[1]) for row in rows} == {7}  # Pendulum-v1 runs 200 steps on its own
    capsys.readouterr()
    assert train_rl("--test", "--output", output, "--episodes", 2) == 0
    assert capsys.readouterr().out.count(", 7 steps") == 2
    with pytest.raises(ConfigError, match="p.env_kwargs: expected a mapping"):
        parse_preset({"env_kwargs": [1]}, name="p", source="f.yaml")
