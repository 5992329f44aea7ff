"""Groups files: the workspace's files load; malformed ones name the file and the field. Without a
file, the groups of the dataset's robot config."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim2real_common.errors import ConfigError
from sim2real_common.robot_config import load_robot_config
from sim2real_trainer.errors import TrainerError
from sim2real_trainer.groups import dataset_groups, load_groups_config, robot_config_groups
from sim2real_trainer.local_dataset import LocalDataset

SO101_JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]

VALID = """
groups: {arm: [0, 3], wrist: [3, 5], gripper: [5, 6]}
loss_weighting: {strategy: per_group, group_weights: {arm: 3, wrist: 2, gripper: 1}}
filters: {arm_heavy: {group: arm, min_share: 0.4}}
"""


@pytest.mark.parametrize("name", ["trainer/so101_groups.yaml", "trainer/so101_arm_focused.yaml"])
def test_workspace_groups_files_load(name):
    config = load_groups_config(name)
    assert config.groups.ranges == {"arm": (0, 3), "wrist": (3, 5), "gripper": (5, 6)}
    assert config.groups.dim == 6
    assert config.filters["arm_heavy"].group == "arm"


def test_valid_file_round_trips_into_dataclasses(tmp_path):
    path = tmp_path / "groups.yaml"
    path.write_text(VALID)
    config = load_groups_config(path)
    assert config.loss_weighting.group_weights == {"arm": 3.0, "wrist": 2.0, "gripper": 1.0}
    assert config.groups.group_of(4) == "wrist"
    assert config.with_strategy("uniform").loss_weighting.strategy == "uniform"


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("groups: {arm: [0, 3], gripper: [4, 6]}", "groups.gripper", "leaves dimensions 3..3 ungrouped"),
        ("groups: {arm: [0, 3], gripper: [2, 6]}", "groups.gripper", "overlaps"),
        ("groups: {arm: [3, 0]}", "groups.arm", "start < end"),
        ("groups: {arm: [0, 6]}\nloss_weighting: {strategy: perdim}", "loss_weighting.strategy", "perdim"),
        ("groups: {arm: [0, 3], hand: [3, 6]}\nloss_weighting: {strategy: per_group, group_weights: {arm: 2}}",
         "loss_weighting.group_weights", "needs a weight for hand"),
        ("groups: {arm: [0, 6]}\nloss_weighting: {group_weights: {leg: 2}}", "loss_weighting.group_weights.leg",
         "no such group"),
        ("groups: {arm: [0, 2]}\nloss_weighting: {strategy: per_dimension, dimension_weights: [1]}",
         "loss_weighting.dimension_weights", "needs 2 weights"),
        ("groups: {arm: [0, 2]}\nloss_weighting: {dimension_weights: [1, -1]}",
         "loss_weighting.dimension_weights[1]", "> 0"),
        ("groups: {arm: [0, 2]}\nfilters: {arm_heavy: {group: leg, min_share: 0.5}}", "filters.arm_heavy.group",
         "no group 'leg'"),
        ("groups: {arm: [0, 2]}\nfilters: {arm_heavy: {group: arm, min_share: 2}}",
         "filters.arm_heavy.min_share", "[0, 1]"),
    ],
)
def test_malformed_file_names_file_and_field(tmp_path, text, field, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_groups_config(path)
    assert err.value.field == field
    assert str(err.value).startswith(f"{path}: {field}: ")
    assert problem in str(err.value)
    assert "\n" not in str(err.value)


def test_strategy_override_is_checked_against_the_file(tmp_path):
    path = tmp_path / "groups.yaml"
    path.write_text("groups: {arm: [0, 3], gripper: [3, 4]}")
    with pytest.raises(ConfigError, match="per_group needs a weight for arm, gripper"):
        load_groups_config(path).with_strategy("per_group")


def test_missing_file_is_named():
    with pytest.raises(FileNotFoundError, match="trainer/nope.yaml"):
        load_groups_config("trainer/nope.yaml")


def dataset(robot_type: str, names: list[str]) -> LocalDataset:
    """A dataset's info.json, nothing else (what the groups are read from)."""
    return LocalDataset(root=Path("/data/ds"), repo_id="local/ds", info={
        "robot_type": robot_type, "features": {"action": {"dtype": "float32", "shape": [len(names)], "names": names}}})


def test_without_a_file_the_groups_are_the_dataset_robots():
    config = dataset_groups(dataset("so101_follower", SO101_JOINTS))
    assert config.path.name == "so101_groups.yaml"  # the file the so101 package registers
    assert config.groups.ranges == {"arm": (0, 3), "wrist": (3, 5), "gripper": (5, 6)} and "arm_heavy" in config.filters
    assert dataset_groups(dataset("so101_follower", SO101_JOINTS), "trainer/so101_groups.yaml").groups.dim == 6


def test_a_robot_without_a_groups_file_groups_by_its_robot_config():
    robot = load_robot_config("so101.yaml")
    config = robot_config_groups(dataset("so101_follower", SO101_JOINTS), Path("so101.yaml"), robot.groups)
    assert config.groups.ranges == {"arm": (0, 5), "gripper": (5, 6)}
    assert (config.loss_weighting.strategy, config.filters) == ("uniform", {})
    humanoid = load_robot_config("humanoid.yaml")  # registers no file; its legs are not side by side
    with pytest.raises(ConfigError, match=r"are not side by side .*\(--action-groups\)"):
        dataset_groups(dataset(humanoid.robot_type, humanoid.joint_names))


@pytest.mark.parametrize(("robot_type", "names", "error", "problem"), [
    ("koch", SO101_JOINTS, TrainerError, "has robot_type 'koch', the robot of no installed robot package"),
    ("so101_follower", [f"dim_{i}" for i in range(6)], ConfigError, "are no action dimensions of /data/ds"),
    ("so101_follower", SO101_JOINTS[:2] + ["gripper"] + SO101_JOINTS[2:5], ConfigError, "are not side by side"),
    ("so101_follower", SO101_JOINTS + ["extra"], ConfigError, "cover 6 of the 7 action dimensions"),
])
def test_robot_groups_that_do_not_fit_ask_for_a_file(robot_type, names, error, problem):
    with pytest.raises(error) as err:
        if robot_type == "koch":
            dataset_groups(dataset(robot_type, names))
        else:
            robot_config_groups(dataset(robot_type, names), Path("so101.yaml"), load_robot_config("so101.yaml").groups)
    assert problem in str(err.value) and "(--action-groups)" in str(err.value)
