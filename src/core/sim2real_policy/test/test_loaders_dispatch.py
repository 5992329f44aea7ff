"""load_policy picks the loader from the spec; anything else is a PolicyLoadError that says why."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sim2real_policy.errors import PolicyLoadError
from sim2real_common.registry import RegistryError
from sim2real_policy.loaders import load_policy


def test_expert_is_the_registered_expert_of_the_scenes_task():
    expert = load_policy("expert", scene="so101_pick_place")
    assert [f.name for f in expert.output_features] == ["action"]
    assert type(load_policy("expert")) is type(expert)  # one scene with an expert: no need to name it
    with pytest.raises(RegistryError, match="unknown scene 'kitchen'"):
        load_policy("expert", scene="kitchen")


def test_missing_path_is_named(tmp_path):
    missing = tmp_path / "nowhere" / "policy.onnx"
    with pytest.raises(PolicyLoadError, match=rf"{missing} does not exist; accepted: 'expert'"):
        load_policy(str(missing))


def test_unknown_file_type_lists_the_accepted_kinds(tmp_path):
    weights = tmp_path / "policy.pkl"
    weights.write_bytes(b"")
    with pytest.raises(
        PolicyLoadError,
        match=r"unsupported file type \.pkl; accepted: 'expert'; a LeRobot .*\.zip.*\.pt.*\.onnx",
    ):
        load_policy(str(weights))


def test_importing_load_policy_stays_light():
    """The policy node imports load_policy; torch and friends load only with the loader that needs them."""
    heavy = ("torch", "lerobot", "stable_baselines3", "onnxruntime")
    code = f"import sys, sim2real_policy.loaders; print([m for m in {heavy} if m in sys.modules])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_a_package_uri_names_a_file_in_a_ros_packages_share_folder():
    with pytest.raises(PolicyLoadError, match=r"share/so101/policies/none.zip does not exist"):
        load_policy("package://so101/policies/none.zip")
    with pytest.raises(PolicyLoadError, match="no installed ROS package 'nopackage'"):
        load_policy("package://nopackage/model.zip")
