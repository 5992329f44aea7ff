"""Adding a robot needs no core change: the toy arm (tests/robots/toy_arm, a two-joint planar arm
reaching a seeded target) is pip-installed into a temporary prefix and run through every
robot-neutral command -- the sim bridge + evaluator, the recorder, sim-demos, train and eval-sim --
found only through its entry point and its ament share folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import WORKSPACE, run_sim2real

TOY = WORKSPACE / "tests" / "robots" / "toy_arm"
ROBOT, SCENE = "toy_arm", "toy_reach"
OUTCOMES = {"reached", "timeout"}  # the toy task's taxonomy, success first
MAX_STEPS = 60
CONTRACT = yaml.safe_load((TOY / "config" / "contracts" / f"{SCENE}.yaml").read_text())
CAMERA = "observation.images.top_cam"
REPO = "local/toy_reach"  # the recorder's and sim-demos' repo id
TINY_ACT = ["pretrained_backbone_weights=null", "chunk_size=10", "n_action_steps=10", "dim_model=64",
            "dim_feedforward=128", "n_heads=2", "n_encoder_layers=1", "n_decoder_layers=1"]


@pytest.fixture(scope="module")
def prefix(tmp_path_factory) -> Path:
    """The toy arm installed for real (wheel build, data_files) into its own prefix."""
    tmp = tmp_path_factory.mktemp("toy_arm")
    source = tmp / "source"  # pip builds in the source folder: build a copy, keep tests/ clean
    shutil.copytree(TOY, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--prefix", str(tmp / "prefix"), str(source)],
                   check=True, capture_output=True, text=True, timeout=300)
    return tmp / "prefix"


@pytest.fixture(scope="module")
def toy_env(prefix) -> dict[str, str]:
    """Our environment plus the prefix's site-packages and ament share."""
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    env = dict(os.environ)
    for name, path in (("PYTHONPATH", site), ("AMENT_PREFIX_PATH", prefix)):
        env[name] = os.pathsep.join(filter(None, (env.get(name), str(path))))
    return env


def toy_sim2real(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`./sim2real <args>` with the toy arm installed; it must succeed."""
    result = run_sim2real(*args, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def evaluation(toy_env, tmp_path_factory) -> dict:
    report = tmp_path_factory.mktemp("toy_eval") / "report.json"
    toy_sim2real(toy_env, "launch", ROBOT, "eval_sim.launch.py", "n_episodes:=4", "seed:=0",
                 f"max_steps:={MAX_STEPS}", f"report:={report}")
    return json.loads(report.read_text())


@pytest.fixture(scope="module")
def recording(toy_env, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("toy_record")
    toy_sim2real(toy_env, "launch", ROBOT, "record_sim.launch.py", "n_episodes:=3", "max_attempts:=8",
                 f"max_steps:={MAX_STEPS}", f"dataset:={out / 'dataset'}", f"report:={out / 'report.json'}")
    return out / "dataset", json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def demos(toy_env, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("toy_demos") / "dataset"
    toy_sim2real(toy_env, "sim-demos", "--scene", SCENE, "--output", str(root), "--episodes", "2",
                 "--environment-state")
    return root


@pytest.fixture(scope="module")
def run(toy_env, recording, tmp_path_factory) -> Path:
    """A tiny ACT trained on the ROS-recorded dataset, evaluated in the sim at its last save."""
    output = tmp_path_factory.mktemp("toy_train") / "act"
    toy_sim2real(toy_env, "train", "--dataset", str(recording[0]), "--output", str(output), "--steps", "2",
                 "--save-every", "2", "--batch-size", "4", "--num-workers", "0", "--log-every", "1000",
                 "--eval-every", "2", "--eval-episodes", "1", "--eval-max-steps", "10", "--eval-scene", SCENE,
                 "--policy-config", *TINY_ACT)
    return output


def open_dataset(root: Path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(REPO, root=root, video_backend="torchcodec")


def check_outcomes(report: dict, n_episodes: int) -> None:
    """The report is laid out by the toy task's own taxonomy."""
    assert report["n_episodes"] == n_episodes == len(report["episodes"])
    assert set(report["outcomes"]) == OUTCOMES and sum(report["outcomes"].values()) == n_episodes
    assert set(report["failures"]) == OUTCOMES - {"reached"}
    assert report["n_success"] == report["outcomes"]["reached"]
    assert "avg_min_distance" in report["task_metrics"]
    assert all(e["outcome"] in OUTCOMES and e["done"] for e in report["episodes"])


def test_the_package_installs_its_share_folder(prefix):
    share = prefix / "share"
    assert (share / "ament_index" / "resource_index" / "packages" / ROBOT).is_file()
    for path in ("package.xml", "config/toy_arm.yaml", f"config/contracts/{SCENE}.yaml", "config/graphs/eval_sim.yaml",
                 "config/graphs/record_sim.yaml", "launch/eval_sim.launch.py", "launch/record_sim.launch.py",
                 f"mjcf/{SCENE}.xml"):
        assert (share / ROBOT / path).is_file(), path
    assert not list(TOY.glob("*.egg-info")) and not (TOY / "build").exists()


def test_the_expert_reaches_through_the_ros_graph(evaluation):
    check_outcomes(evaluation, 4)
    assert evaluation["complete"] is True
    assert evaluation["n_success"] >= 3
    assert [e["seed"] for e in evaluation["episodes"]] == [0, 1, 2, 3]
    for episode in evaluation["episodes"]:
        assert 0 < episode["steps"] <= MAX_STEPS
        if episode["outcome"] == "reached":
            assert episode["min_distance"] < 0.015


def test_the_recorder_writes_the_contracts_dataset(recording):
    root, report = recording
    assert report["complete"] is True and report["n_saved"] == 3
    saved = [e for e in report["episodes"] if e["saved"]]
    assert len(saved) == 3 and all(e["outcome"] == "reached" for e in saved)
    dataset = open_dataset(root)
    assert dataset.meta.robot_type == ROBOT and dataset.fps == CONTRACT["fps"]
    assert dataset.num_episodes == 3
    assert [dataset.meta.episodes[i]["length"] for i in range(3)] == [e["steps"] for e in saved]
    assert dataset.meta.tasks.index.tolist() == [CONTRACT["task"]]
    recorded = {name for name in CONTRACT["features"] if not CONTRACT["features"][name].get("sim_only")}
    assert recorded == {"observation.state", "action", CAMERA} <= set(dataset.features)
    assert "observation.environment_state" not in dataset.features  # sim-only: never recorded
    for name in ("observation.state", "action"):
        assert dataset.features[name]["names"] == CONTRACT["features"][name]["joints"]
    height, width, _ = CONTRACT["features"][CAMERA]["shape"]
    assert tuple(dataset[0][CAMERA].shape) == (3, height, width)


def test_sim_demos_record_the_toy_expert(demos):
    dataset = open_dataset(demos)
    assert dataset.meta.robot_type == ROBOT and dataset.num_episodes == 2
    assert {"observation.state", "action", CAMERA, "observation.environment_state"} <= set(dataset.features)
    for index in (0, dataset.num_frames - 1):  # the target of each episode, where the task places it
        target = dataset[index]["observation.environment_state"].numpy()
        assert 0.15 <= np.linalg.norm(target[:2]) <= 0.32
    assert tuple(dataset[0]["action"].shape) == (2,)


def test_train_writes_a_checkpoint_and_evaluates_it_in_the_toy_scene(run):
    model = run / "checkpoints" / "last" / "pretrained_model"
    assert (model / "config.json").is_file() and (model / "model.safetensors").is_file()
    rows = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [2] and set(rows[0]["outcomes"]) == OUTCOMES


def test_eval_sim_reports_the_trained_policy(toy_env, run, tmp_path):
    report_path = tmp_path / "report.json"
    toy_sim2real(toy_env, "eval-sim", "--scene", SCENE, "--policy", str(run), "--episodes", "2", "--seed", "100",
                 "--max-steps", "20", "--output", str(report_path))
    report = json.loads(report_path.read_text())
    check_outcomes(report, 2)
    assert report["scene"] == SCENE and [e["seed"] for e in report["episodes"]] == [100, 101]
    assert all(0 < e["steps"] <= 20 for e in report["episodes"])


GYM_CHECK = """
import gymnasium, numpy
from gymnasium.utils.env_checker import check_env
from sim2real_common.registry import register_envs
print("ids", register_envs())
env = gymnasium.make("ToyReach-v0", max_steps=20)
check_env(env.unwrapped)
obs, _ = env.reset(seed=3)
total, done, steps = 0.0, False, 0
while not done:
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    total, done, steps = total + reward, terminated or truncated, steps + 1
print("episode", steps, info["outcome"], total)
"""


def test_the_robots_gymnasium_env_is_registered_through_its_entry_point(toy_env):
    result = subprocess.run([sys.executable, "-c", GYM_CHECK], env=toy_env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert "'ToyReach-v0'" in lines["ids"]
    steps, outcome, total = lines["episode"].split()
    assert 1 <= int(steps) <= 20 and outcome in OUTCOMES and float(total) < 0  # reward: minus the distance


def test_no_core_file_names_the_toy_robot():
    core = WORKSPACE / "src" / "core"
    named = []
    for path in sorted(p for p in core.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        text = path.read_bytes().decode("utf-8", errors="ignore").lower()
        named += [f"{path.relative_to(WORKSPACE)}: {name}" for name in (ROBOT, SCENE) if name in text]
    assert named == []
