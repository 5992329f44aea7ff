"""Seed 000 tools on a hand-built dataset: action analysis, balanced stats, episode filter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim2real_common.errors import ConfigError
from sim2real_trainer.action_analysis import analyze_actions, write_analysis
from sim2real_trainer.balanced_stats import apply_override, balanced_stats, load_override, write_override
from sim2real_trainer.episode_filter import select_episodes
from sim2real_trainer.errors import DatasetError, TrainerError
from sim2real_trainer.groups import load_groups_config
from sim2real_trainer.local_dataset import episode_arrays, load_stats, open_local_dataset

from conftest import run_cli

N = 21  # frames per episode


def episode_actions(kind: str) -> np.ndarray:
    """``arm``: the arm joints ramp, the rest hold; ``gripper``: only the gripper ramps; ``all``: all ramp."""
    t = np.linspace(0.0, 1.0, N)[:, None]
    actions = np.tile([0.1, -0.2, 0.3, 0.0, 0.5, 0.2], (N, 1))
    moving = {"arm": [0, 1, 2], "gripper": [5], "all": [0, 1, 2, 3, 4, 5]}[kind]
    actions[:, moving] += t * 0.6
    return actions.astype(np.float32)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Three episodes (arm, gripper, all moving), state and action only (no video: quick)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from sim2real_testing.datasets import JOINT_NAMES

    joints = {"dtype": "float32", "shape": (6,), "names": list(JOINT_NAMES)}
    root = tmp_path_factory.mktemp("actions") / "ds"
    ds = LeRobotDataset.create(repo_id="so101/hand_built", fps=30, root=root, robot_type="so101_follower",
                               features={"observation.state": dict(joints), "action": dict(joints)})
    for kind in ("arm", "gripper", "all"):
        for action in episode_actions(kind):
            ds.add_frame({"observation.state": action, "action": action, "task": "t"})
        ds.save_episode()
    ds.finalize()
    return open_local_dataset(root)


@pytest.fixture(scope="module")
def groups():
    return load_groups_config("trainer/so101_groups.yaml")


def test_episode_arrays_read_back_what_was_written(dataset):
    arrays = episode_arrays(dataset, "action")
    assert sorted(arrays) == [0, 1, 2]
    np.testing.assert_allclose(arrays[1], episode_actions("gripper"), rtol=0, atol=1e-7)


def test_action_analysis_numbers_and_files(dataset, groups, tmp_path):
    analysis = analyze_actions(dataset, groups)
    frames = np.concatenate([episode_actions(k) for k in ("arm", "gripper", "all")]).astype(float)
    dims = analysis["dimensions"]
    assert [d["group"] for d in dims] == ["arm"] * 3 + ["wrist"] * 2 + ["gripper"]
    assert [d["std"] for d in dims] == pytest.approx(frames.std(axis=0), rel=1e-5)
    # per-step motion: 0.6 / 20 per step while a dimension ramps; arm ramps in 2 of 3 episodes
    assert dims[0]["motion"] == pytest.approx(0.03 * 2 / 3, rel=1e-4)
    assert dims[3]["motion"] == pytest.approx(0.03 / 3, rel=1e-4)
    weights = analysis["suggested_loss_weighting"]["group_weights"]
    assert (3 * weights["arm"] + 2 * weights["wrist"] + weights["gripper"]) / 6 == pytest.approx(1, abs=2e-3)
    assert weights["wrist"] > weights["arm"]  # the wrist moves least: it gets the most weight

    json_path, png_path = write_analysis(analysis, tmp_path / "out")
    assert json.loads(json_path.read_text())["groups"]["arm"]["dims"] == [0, 3]
    assert png_path.stat().st_size > 10_000


def test_balanced_stats_share_one_scale_per_group(dataset, groups, tmp_path):
    stats = load_stats(dataset)["action"]
    override = balanced_stats(dataset, groups)["action"]
    arm_rms = np.sqrt(np.mean(stats["std"][:3] ** 2))
    np.testing.assert_allclose(override["std"][:3], [arm_rms] * 3)
    np.testing.assert_allclose(override["std"][5], stats["std"][5])  # a one-joint group keeps its std
    centre = (stats["min"] + stats["max"]) / 2
    np.testing.assert_allclose((override["min"] + override["max"]) / 2, centre)
    assert np.all(override["min"] <= stats["min"] + 1e-12) and np.all(override["max"] >= stats["max"] - 1e-12)

    path = write_override({"action": override}, tmp_path / "balanced.json")
    loaded = load_override(path)
    target = {"action": {k: np.asarray(v, dtype=np.float32) for k, v in stats.items()}}
    apply_override(target, loaded, path)
    np.testing.assert_allclose(target["action"]["std"][:3], [arm_rms] * 3, rtol=1e-6)
    assert target["action"]["std"].dtype == np.float32
    with pytest.raises(ConfigError, match="action.std: expected shape"):
        apply_override(target, {"action": {"std": np.ones(3)}}, path)


def test_arm_heavy_filter_keeps_the_arm_episode(dataset, groups, tmp_path):
    selection = select_episodes(dataset, groups, "arm_heavy")
    assert selection.selected == [0]
    assert selection.rejected == [1, 2]
    assert selection.shares[0]["arm"] == pytest.approx(1.0)
    assert selection.shares[1]["gripper"] == pytest.approx(1.0)
    written = json.loads(selection.write(tmp_path / "episodes.json").read_text())
    assert written["selected"] == [0] and written["filter"] == "arm_heavy"
    with pytest.raises(TrainerError, match="no episode filter 'leg_heavy'.*filters: arm_heavy"):
        select_episodes(dataset, groups, "leg_heavy")


def test_commands_print_and_write(dataset, tmp_path, capsys):
    """Without --action-groups the commands group by the file the dataset's robot registers
    (so101: trainer/so101_groups.yaml, arm = the first three joints, with its filters)."""
    assert run_cli("analyze-actions", "--dataset", dataset.root, "-o", tmp_path / "a") == 0
    assert json.loads((tmp_path / "a" / "action_analysis.json").read_text())["groups"]["arm"]["dims"] == [0, 3]
    assert run_cli("balance-stats", "--dataset", dataset.root, "-o", tmp_path / "b.json") == 0
    assert run_cli("filter-episodes", "--dataset", dataset.root, "--filter", "arm_heavy", "-o", tmp_path / "e.json") == 0
    out = capsys.readouterr().out
    assert "suggested loss_weighting" in out and "arm_heavy: kept 1 of 3 episodes" in out
    assert {p.name for p in tmp_path.rglob("*.*")} == {"action_analysis.json", "action_analysis.png",
                                                         "b.json", "e.json"}


def test_bad_dataset_and_groups_mismatch(tmp_path, dataset):
    with pytest.raises(DatasetError, match="does not exist"):
        open_local_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="not a LeRobot dataset: meta/info.json is missing"):
        open_local_dataset(tmp_path / "empty")
    five = tmp_path / "five.yaml"
    five.write_text("groups: {arm: [0, 5]}")
    with pytest.raises(ConfigError, match="five.yaml: groups: cover 5 dimensions, but action of .* has 6"):
        analyze_actions(dataset, load_groups_config(five))
