"""Contract: the shipped file loads; bad files name file + field; policies are checked; message
extraction is duck-typed (works for any object with ROS field names)."""

from types import SimpleNamespace as NS

import numpy as np
import pytest

from sim2real_common.contract import ContractMismatch, load_contract
from sim2real_common.errors import ConfigError
from sim2real_common.features import FeatureExtractionError, image_rgb, joint_values, pose_values, stamp_ns

JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


@pytest.fixture(scope="module")
def contract():
    return load_contract("so101_pick_place")


def test_shipped_contract_matches_the_robot_config(contract):
    from sim2real_common.robot_config import load_robot_config

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


STATE_JOINTS = "    joints: [shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, wrist_roll, gripper]\n    shape: [6]\n    unit: rad\n    align: latest_before\n    max_age_s: 0.1"


@pytest.mark.parametrize("old, new, field, text", [
    ("field: position", "field: positon", "features.observation.state.field",
     "'positon' is not a float64[] field of sensor_msgs/msg/JointState (did you mean 'position'?); "
     "valid fields: position, velocity, effort"),
    (STATE_JOINTS, STATE_JOINTS.replace("joints:", "joint:"), "features.observation.state.joint",
     "unknown key (did you mean 'joints'?); accepted for sensor_msgs/msg/JointState features: "),
    (STATE_JOINTS, STATE_JOINTS.replace("joints: [shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, wrist_roll, "
                                        "gripper]\n    ", ""), "features.observation.state.joints",
     "missing (the joint of each of the 6 values"),
    ("[shoulder_pan, shoulder_lift,", "[shoulder_pan, shoulder_lft,", "features.observation.state.joints",
     "'shoulder_lft' is not a joint of robot so101.yaml (did you mean 'shoulder_lift'?); its joints: shoulder_pan, "),
    ("fps: 30", "fsp: 30", "fsp", "unknown key (did you mean 'fps'?); accepted for a contract: robot, fps, task, features"),
    ("encoding: rgb8", "encodng: rgb8", "features.observation.images.overhead_cam.encodng", "did you mean 'encoding'?"),
    ("encoding: rgb8", "encoding: yuv422", "features.observation.images.overhead_cam.encoding",
     "expected one of rgb8, bgr8, mono8, found 'yuv422'"),
    ("layout: [block.position,", "layout: [blok.position,", "features.observation.environment_state.layout",
     "with <object> one of ['block', 'bowl']"),
    ("robot: so101.yaml", "robot: so100.yaml", "robot", "config file not found: so100.yaml"),
])
def test_contract_keys_fields_and_joints_are_checked_at_load(contract, tmp_path, old, new, field, text):
    path = tmp_path / "c.yaml"
    original = contract.path.read_text()
    assert old in original
    path.write_text(original.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_contract(path)
    assert info.value.field == field and str(path) in str(info.value) and text in str(info.value), str(info.value)


def test_joint_values_rename_joints_and_read_empty_name_lists_by_index(contract):
    binding = contract.features["observation.state"]
    renamed = _joint_msg([f"q{i}" for i in range(6)], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    rename = {f"q{i}": j for i, j in enumerate(JOINTS)}
    assert joint_values(binding, renamed, rename=rename).tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    with pytest.raises(FeatureExtractionError, match=r"/bag/joints lacks joints \['shoulder_pan'"):
        joint_values(binding, renamed, topic="/bag/joints")
    unnamed = _joint_msg([], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    order = [None, *reversed(JOINTS)]  # the first value is not a joint of the contract
    assert joint_values(binding, unnamed, order=order).tolist() == [7.0, 6.0, 5.0, 4.0, 3.0, 2.0]
    with pytest.raises(FeatureExtractionError, match="empty joint name list and 7 position values"):
        joint_values(binding, unnamed, order=binding.joints)  # by index in the contract's order: 6 joints, 7 values
    with pytest.raises(FeatureExtractionError, match="has 0 joint names but 7 position values"):
        joint_values(binding, unnamed)  # live nodes: no order, no guessing
