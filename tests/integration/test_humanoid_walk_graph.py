"""A PPO walking policy from the humanoid's Gymnasium env, served through the ROS graph: trained
here for a few hundred steps (SB3, VecNormalize), saved with the layout the env gives, evaluated
by `sim2real launch humanoid eval_sim.launch.py` (sim bridge with IMU and estimated joints,
policy node, evaluator): the walking report and the video come out."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import pytest
import yaml

from conftest import run_sim2real
from sim2real_common.registry import register_envs

ENV_ID = "HumanoidWalkLegs-v0"


@pytest.fixture(scope="module")
def tiny_walker(tmp_path_factory) -> Path:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    register_envs()
    folder = tmp_path_factory.mktemp("walker")
    venv = VecNormalize(make_vec_env(ENV_ID, n_envs=2, seed=0))
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=2, seed=0, device="cpu")
    model.learn(256)
    model.save(folder / "model.zip")
    venv.save(folder / "vecnormalize.pkl")
    layout = gymnasium.make(ENV_ID).unwrapped.policy_layout()
    (folder / "model.yaml").write_text(yaml.safe_dump(layout))
    return folder / "model.zip"


def test_the_policy_walks_the_graph_and_the_report_says_how_far(tiny_walker, tmp_path):
    report = tmp_path / "report.json"
    result = run_sim2real("launch", "humanoid", "eval_sim.launch.py", f"policy:={tiny_walker}", "n_episodes:=2",
                          "max_steps:=20", f"report:={report}", "record_video:=true", timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(report.read_text())
    assert data["n_episodes"] == 2 and set(data["outcomes"]) == {"upright", "fell"}
    assert 0.0 <= data["fall_free_rate"] <= 1.0 and len(data["fall_free_rate_ci95"]) == 2
    assert isinstance(data["mean_distance_m"], float)
    for episode in data["episodes"]:
        assert {"distance_m", "fell", "upright_s", "foot_switches"} <= set(episode)
        assert episode["fell"] or episode["steps"] == 20
    video = report.with_name("episodes.mp4")
    assert video.exists() and video.stat().st_size > 1000
