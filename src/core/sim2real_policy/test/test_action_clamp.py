"""The policy node's clamp, without ROS: each action joint gets its own limits, and its max step
around its current position found by name in the state; joints the state lacks get limits only."""

from __future__ import annotations

import numpy as np
import pytest

from sim2real_common.contract import load_contract
from sim2real_common.robot_config import JointSpec, RobotConfig, load_robot_config
from sim2real_policy.action_clamp import ActionClamp
from sim2real_policy.errors import PolicyError

ROBOT = RobotConfig(
    robot_type="test_arm", namespace="test", control_hz=30.0, camera_frames={}, home=(0.0, 0.0, 0.0, 0.0),
    joints=(JointSpec("a", -1.0, 1.0, 0.1), JointSpec("b", -2.0, 2.0, 0.2),
            JointSpec("c", -3.0, 3.0, 0.3), JointSpec("tool", 0.0, 0.5, 0.05)),
)
STATE_JOINTS = ("a", "b", "c")
STATE = np.array([0.5, -1.0, 2.0])  # positions of a, b, c


def test_action_joints_a_permuted_subset_of_the_state_are_matched_by_name():
    clamp = ActionClamp.for_joints(ROBOT, ("c", "a"), STATE_JOINTS)
    # c: within c's step 0.3 of c's position 2.0; a: within a's limit 1.0, a's step of 0.5.
    np.testing.assert_allclose(clamp([9.0, 9.0], STATE), [2.3, 0.6])
    np.testing.assert_allclose(clamp([-9.0, -9.0], STATE), [1.7, 0.4])
    np.testing.assert_allclose(clamp([2.1, 0.45], STATE), [2.1, 0.45])  # inside every bound: unchanged


def test_a_commanded_only_joint_gets_its_limits_alone():
    clamp = ActionClamp.for_joints(ROBOT, ("b", "tool"), STATE_JOINTS)
    np.testing.assert_allclose(clamp([0.0, 0.4], STATE), [-0.8, 0.4])  # tool moves 0.4 > its step 0.05
    np.testing.assert_allclose(clamp([0.0, 7.0], STATE), [-0.8, 0.5])
    np.testing.assert_allclose(clamp([0.0, 7.0], None), [0.0, 0.5])  # no state yet: limits only


def test_robot_order_action_matches_robot_config_clamp():
    robot = load_robot_config("so101.yaml")
    contract = load_contract("so101_pick_place")
    clamp = ActionClamp.for_joints(robot, contract.features["action"].joints,
                                   contract.features["observation.state"].joints)
    rng = np.random.default_rng(0)
    for _ in range(5):
        action, state = rng.uniform(-3, 3, 6), rng.uniform(-1.5, 1.5, 6)
        np.testing.assert_array_equal(clamp(action, state), robot.clamp(action, current=state))


def test_unknown_joint_and_wrong_length_are_named():
    with pytest.raises(PolicyError, match=r"action joints \['wrist'\] are not joints of robot config test_arm"):
        ActionClamp.for_joints(ROBOT, ("a", "wrist"), STATE_JOINTS)
    with pytest.raises(PolicyError, match=r"action: expected 2 values \(joints \['c', 'a'\]\), found shape \(3,\)"):
        ActionClamp.for_joints(ROBOT, ("c", "a"), STATE_JOINTS)(np.zeros(3), STATE)


def test_a_velocity_commanded_robot_is_clipped_to_the_speed_of_its_max_step():
    robot = RobotConfig(robot_type="wheels", namespace="test", control_hz=10.0, camera_frames={}, home=(0.0, 0.0),
                        joints=(JointSpec("a", -1.0, 1.0, 0.1), JointSpec("b", -2.0, 2.0, 0.3)), command="velocity")
    clamp = ActionClamp.for_joints(robot, ("b", "a"), ("a", "b"))
    # speeds, not positions: +-3 rad/s for b and +-1 rad/s for a, whatever the state
    assert np.allclose(clamp(np.array([5.0, -0.5]), np.array([0.99, 1.99])), [3.0, -0.5])
