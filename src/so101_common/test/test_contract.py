"""Contract: the shipped file loads; bad files name file + field; policies are checked; message
extraction is duck-typed (works for any object with ROS field names)."""

from types import SimpleNamespace as NS

import numpy as np
import pytest

from so101_common.contract import ContractMismatch, load_contract
from so101_common.errors import ConfigError
from so101_common.features import FeatureExtractionError, image_rgb, joint_values, pose_values, stamp_ns

JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


@pytest.fixture(scope="module")
def contract():
    return load_contract("so101_pick_place")


def test_shipped_contract_matches_the_robot_config(contract):
    from so101_common.robot_config import load_robot_config

    robot = load_robot_config(contract.robot)
    assert contract.fps == robot.control_hz == 30.0
    assert list(contract.features["observation.state"].joints) == robot.joint_names
    assert list(contract.features["action"].joints) == robot.joint_names
    assert contract.features["observation.images.wrist_cam"].camera == "wrist_cam"


def test_policy_that_fits_passes(contract):
    contract.check_policy({"observation.state": (6,), "observation.images.overhead_cam": (96, 128, 3)},
                          {"action": (6,)}, {"observation.state": True, "action": True})


def test_mismatches_are_listed_with_expected_and_available(contract):
    with pytest.raises(ContractMismatch) as info:
        contract.check_policy({"observation.images.front": (96, 128, 3),
                               "observation.images.wrist_cam": (480, 640, 3), "observation.state": (6,)},
                              {"action": (7,)}, {"observation.state": False})
    text = str(info.value)
    assert "observation.images.front [96, 128, 3]: not in the contract" in text
    assert "image size (H, W, C) [480, 640, 3], contract serves [96, 128, 3]" in text
    assert "action: policy expects shape [7], contract serves [6]" in text
    assert "observation.state: no normalisation stats" in text
    assert "contract serves: observation.state [6]" in text


@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace("fps: 30\n", ""), "fps"),
    (lambda t: t.replace("align: latest_before\n    max_age_s: 0.1\n  action", "align: nearest\n    max_age_s: 0.1\n  action", 1),
     "features.observation.state.align"),
    (lambda t: t.replace("shape: [6]\n    unit: rad\n    align: latest_before\n    max_age_s: 0.2", "shape: [5]\n    unit: rad\n    align: latest_before\n    max_age_s: 0.2"),
     "features.action.joints"),
    (lambda t: t.replace("type: sensor_msgs/msg/Image", "type: sensor_msgs/msg/CompressedImagee", 1),
     "features.observation.images.overhead_cam.type"),
])
def test_bad_contract_names_file_and_field(contract, tmp_path, edit, field):
    path = tmp_path / "c.yaml"
    path.write_text(edit(contract.path.read_text()))
    with pytest.raises(ConfigError) as info:
        load_contract(path)
    assert info.value.field == field and str(path) in str(info.value)


def _joint_msg(names, positions):
    return NS(header=NS(stamp=NS(sec=3, nanosec=5)), name=names, position=positions, velocity=[], effort=[])


def test_joint_values_follow_the_contract_order_not_the_message_order(contract):
    binding = contract.features["observation.state"]
    msg = _joint_msg(list(reversed(JOINTS)), [6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    assert joint_values(binding, msg).tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert stamp_ns(msg) == 3_000_000_005
    with pytest.raises(FeatureExtractionError, match="gripper"):
        joint_values(binding, _joint_msg(JOINTS[:5], [0.0] * 5))


def test_images_are_checked_and_converted_to_rgb(contract):
    binding = contract.features["observation.images.overhead_cam"]
    rgb = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    msg = NS(height=96, width=128, step=384, encoding="bgr8", data=rgb[..., ::-1].tobytes())
    assert np.array_equal(image_rgb(binding, msg), rgb)
    with pytest.raises(FeatureExtractionError, match="480x640"):
        image_rgb(binding, NS(height=480, width=640, step=1920, encoding="rgb8", data=b""))
    with pytest.raises(FeatureExtractionError, match="yuv422"):
        image_rgb(binding, NS(height=96, width=128, step=256, encoding="yuv422", data=b""))


def test_poses_follow_the_layout(contract):
    binding = contract.features["observation.environment_state"]
    pose = lambda x: NS(pose=NS(position=NS(x=x, y=0.0, z=1.0), orientation=NS(w=1.0, x=0.0, y=0.0, z=0.0)))  # noqa: E731
    values = pose_values(binding, {"block": pose(0.2), "bowl": pose(0.5)})
    assert values.tolist() == [0.2, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.5, 0.0, 1.0]
