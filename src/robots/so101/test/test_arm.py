"""The SO-101 arm, the follower adapter in core's control loop and the leader loop (ROS-free) on
the emulated bus; LeRobot's own SO-101 follower on the same emulator and calibration file."""

from __future__ import annotations

import math
import shutil
import time

import numpy as np
import pytest
from lerobot.robots.so_follower import SOFollower, SOFollowerRobotConfig

from feetech.transport import SerialTransport
from sim2real_hardware.reports import Level
from sim2real_hardware.robot_loop import LoopConfig, RobotLoop
from so101.hardware.arm import ArmConfig, ArmState, So101Arm
from so101.hardware.arm_control import Follower, FollowerConfig
from so101.hardware.calibration import JointMapping
from so101.hardware.errors import CalibrationError, CalibrationMissingError
from so101.hardware.leader import Leader
from so101.hardware.safety import Stall, StallConfig

from conftest import JOINTS, TIMEOUT_MS, example_values

# The elbow threshold is low: max_step (0.15 rad = 98 steps) caps how hard a blocked emulated servo
# pushes (4 load units per step: 39 %).
STALL = StallConfig(load=(0.6, 0.85, 0.3, 0.6, 0.6, 0.2), current_ma=(2000.0,) * 5 + (1000.0,), time_s=0.3,
                    release_s=1.0)


def make_arm(pty, robot, calibration, role="follower") -> So101Arm:
    return So101Arm(ArmConfig(port=pty.path, role=role, calibration_file=str(calibration),
                              packet_timeout_ms=TIMEOUT_MS), robot)


def follower_loop(arm: So101Arm) -> RobotLoop:
    """The follower as its node runs it: the SO-101 adapter in core's loop, at 30 Hz."""
    return RobotLoop(Follower(arm, FollowerConfig(control_hz=30.0, stall=STALL)),
                     LoopConfig(control_hz=30.0, watchdog_timeout_s=0.5, device_report="bus"))


def run(loop: RobotLoop, seconds: float, command: dict[str, float] | None = None, hz: float = 30.0) -> ArmState:
    """Tick ``loop`` in real time, commanding ``command`` every tick when given; the arm's last read."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = time.monotonic()
        if command:
            loop.command(command, now)
        loop.tick(now)
        time.sleep(1 / hz)
    return loop.robot.state


def test_connect_writes_the_calibration_configures_like_lerobot_and_holds(pty, emulator, robot, example_calibration):
    arm = make_arm(pty, robot, example_calibration)
    assert arm.connect() is True  # EEPROM differed from the file
    arm.read()  # a round trip: the emulator has handled the torque SYNC_WRITE before it
    offsets = {name: v["homing_offset"] for name, v in example_values().items()}
    for servo_id, name in enumerate(JOINTS, start=1):
        assert emulator.register(servo_id, "Homing_Offset") == offsets[name]
        assert emulator.register(servo_id, "Torque_Enable") == 1
        assert emulator.register(servo_id, "Goal_Position") == emulator.register(servo_id, "Present_Position")
        assert (emulator.register(servo_id, "P_Coefficient"), emulator.register(servo_id, "Acceleration")) == (16, 254)
    assert (emulator.register(6, "Max_Torque_Limit"), emulator.register(6, "Overload_Torque")) == (500, 25)
    state = arm.read()
    gripper = JointMapping(arm.calibration["gripper"], (robot.lower[5], robot.upper[5]))
    assert state.position[5] == pytest.approx(gripper.to_radians(2048 - offsets["gripper"]))
    pan = arm.calibration["shoulder_pan"]
    assert state.position[0] == pytest.approx((2048 - 87 - (pan.range_min + pan.range_max) / 2) * 2 * math.pi / 4095)
    arm.close()
    time.sleep(0.1)  # the torque-off SYNC_WRITE gets no reply
    assert [emulator.register(i, "Torque_Enable") for i in range(1, 7)] == [0] * 6
    assert make_arm(pty, robot, example_calibration).connect() is False  # now they agree


def test_send_clamps_to_limits_max_step_and_calibrated_range(pty, robot, example_calibration):
    arm = make_arm(pty, robot, example_calibration)
    arm.connect()
    present = arm.read().position
    sent = arm.send(present + np.array([1.0, -1.0, 0.05, 0, 0, 0]), present)
    assert sent[:3] == pytest.approx(present[:3] + [0.15, -0.15, 0.05], abs=2e-3)
    sent = arm.send(np.array([5.0, -5.0, 0, 0, 0, 5.0]))
    assert sent[0] == pytest.approx(robot.upper[0], abs=2e-3) and sent[1] == pytest.approx(robot.lower[1], abs=2e-3)
    assert sent[5] == pytest.approx(robot.upper[5])  # gripper: 100 % = range_max
    arm.close()


def test_arm_refuses_calibrations_that_do_not_fit(pty, robot, example_calibration, tmp_path):
    with pytest.raises(CalibrationError, match="shoulder_pan is servo id 1 there but id 7"):
        So101Arm(ArmConfig(port=pty.path, ids=(7, 2, 3, 4, 5, 6), calibration_file=str(example_calibration)), robot)
    with pytest.raises(CalibrationMissingError, match="--id nobody"):
        So101Arm(ArmConfig(port=pty.path, arm_id="nobody", calibration_file=str(tmp_path / "x.json")), robot)
    with pytest.raises(ValueError, match="ids: expected distinct"):
        ArmConfig(port="p", ids=(1, 1, 2, 3, 4, 5))


def test_follower_follows_then_backs_off_a_squeezing_gripper_then_frees_it(pty, emulator, robot, example_calibration):
    loop = follower_loop(make_arm(pty, robot, example_calibration))
    follower = loop.robot
    state = run(loop, 0.2)
    assert [r.level for r in loop.reports(time.monotonic())] == [Level.OK] * 8
    start = state.position.copy()
    state = run(loop, 1.0, {"shoulder_pan": start[0] + 0.4, "gripper": 1.0})
    assert state.position[0] == pytest.approx(start[0] + 0.4, abs=0.01)
    assert state.position[5] == pytest.approx(1.0, abs=0.01)
    block = emulator.register(6, "Present_Position") - 150  # a block between the jaws
    emulator.place_obstacle(6, lower=block)
    state = run(loop, 0.25, {"gripper": -0.1})  # squeeze
    assert state.load[5] < -0.2  # closing pushes toward lower steps
    state = run(loop, 0.6, {"gripper": -0.1})
    assert follower.stall.state("gripper") is Stall.BACKED_OFF
    assert abs(state.load[5]) < 0.2  # still holding, gently
    assert emulator.register(6, "Torque_Enable") == 1
    report = loop.reports(time.monotonic())[-1]
    assert report.level is Level.WARN and "backed off" in report.message
    run(loop, 0.3, {"gripper": 1.0})  # open: free again
    assert follower.stall.state("gripper") is Stall.FREE
    loop.close()


def test_follower_releases_a_joint_that_keeps_straining_and_torque_service_restores_it(
        pty, emulator, robot, example_calibration):
    loop = follower_loop(make_arm(pty, robot, example_calibration))
    follower = loop.robot
    state = run(loop, 0.2)
    emulator.place_obstacle(3, upper=emulator.register(3, "Present_Position"))
    state = run(loop, 0.8, {"elbow_flex": state.position[2] + 0.5})
    assert follower.stall.state("elbow_flex") is Stall.BACKED_OFF
    emulator.place_obstacle(3, upper=emulator.register(3, "Present_Position") - 100)  # pushed back harder
    run(loop, 1.5, {"elbow_flex": 0.5})
    assert follower.released == {"elbow_flex": "still straining 1 s after backing off: torque released"}
    assert [emulator.register(i, "Torque_Enable") for i in range(1, 7)] == [1, 1, 0, 1, 1, 1]
    commands = loop.reports(time.monotonic())[1]
    assert commands.level is Level.ERROR and "elbow_flex released" in commands.message
    emulator.remove_obstacle(3)
    assert loop.operate(lambda: follower.set_torque(True)) == "torque on, holding the present pose"
    follower.arm.read()
    assert [emulator.register(i, "Torque_Enable") for i in range(1, 7)] == [1] * 6
    assert follower.released == {}
    assert loop.operate(lambda: follower.set_torque(False)) == "torque off"
    run(loop, 0.1)
    assert [emulator.register(i, "Torque_Enable") for i in range(1, 7)] == [0] * 6
    loop.close()


class CtrlCTransport(SerialTransport):
    """The serial port, with a Ctrl-C (KeyboardInterrupt) arriving in the middle of the next read."""

    interrupt = False

    def read(self, size: int) -> bytes:
        if self.interrupt:
            self.interrupt = False
            raise KeyboardInterrupt
        return super().read(size)


def test_ctrl_c_in_the_middle_of_a_read_still_switches_torque_off(pty, emulator, robot, example_calibration):
    transport = CtrlCTransport(pty.path)
    arm = So101Arm(ArmConfig(port=pty.path, calibration_file=str(example_calibration),
                             packet_timeout_ms=TIMEOUT_MS), robot, transport)
    loop = follower_loop(arm)
    run(loop, 0.2)
    assert [emulator.register(i, "Torque_Enable") for i in range(1, 7)] == [1] * 6
    transport.interrupt = True
    with pytest.raises(KeyboardInterrupt):  # the node's timer callback is cut short mid-transaction
        loop.tick(time.monotonic())
    loop.close()  # what the node does on the way out
    end = time.monotonic() + 10  # the SYNC_WRITE gets no reply: give the emulator thread a moment
    while [emulator.register(i, "Torque_Enable") for i in range(1, 7)] != [0] * 6 and time.monotonic() < end:
        time.sleep(0.02)
    assert [emulator.register(i, "Torque_Enable") for i in range(1, 7)] == [0] * 6


def test_leader_keeps_torque_off_and_reads_the_pose(pty, emulator, robot, example_calibration):
    leader = Leader(make_arm(pty, robot, example_calibration, role="leader"), reconnect_period_s=1.0)
    command = leader.tick(time.monotonic())
    assert command is not None and not np.isnan(command).any()
    np.testing.assert_array_equal(command, leader.state.position)  # within the limits: the pose as read
    leader.tick(time.monotonic())
    assert [emulator.register(i, "Torque_Enable") for i in range(1, 7)] == [0] * 6
    assert emulator.register(1, "P_Coefficient") == 32  # the leader keeps its factory gains
    emulator.silence([2])
    assert leader.tick(time.monotonic()) is None
    bus, commands, *joints = leader.reports(time.monotonic())
    assert (commands.level, commands.message) == (Level.ERROR, "servos not answering (shoulder_lift): "
                                                               "no joint_commands published")
    assert joints[1].message == "no reply from servo id 2"
    leader.close()


def test_leader_clamps_its_pose_to_the_joint_limits_and_warns(pty, emulator, robot, example_calibration):
    leader = Leader(make_arm(pty, robot, example_calibration, role="leader"), reconnect_period_s=1.0,
                    clamp_report_s=0.5)
    t = time.monotonic()
    assert leader.tick(t) is not None
    commands = leader.reports(t)[1]
    assert (commands.name, commands.level, commands.message) == ("commands", Level.OK, "publishing the leader's pose")
    # A hand swings the leader past the follower's limits (the example calibration of wrist_roll spans
    # the whole turn, +-pi rad; shoulder_pan beyond its calibrated range).
    for servo_id, present in ((1, 500), (5, 4000)):
        servo = emulator.servo(servo_id)
        servo.position = servo.to_absolute(present)
    command = leader.tick(t + 0.1)
    pose = leader.state.position
    assert pose[0] < robot.lower[0] - 0.4 and pose[4] > robot.upper[4] + 0.1
    np.testing.assert_array_equal(command, np.clip(pose, robot.lower, robot.upper))
    assert (command[0], command[4]) == (robot.lower[0], robot.upper[4])
    np.testing.assert_array_equal(command[[1, 2, 3, 5]], pose[[1, 2, 3, 5]])
    commands = leader.reports(t + 0.1)[1]
    assert (commands.level, commands.message) == (
        Level.WARN, "leader beyond the joint limits (shoulder_pan < -1.9199, wrist_roll > 2.8412 rad): "
                    "commands clamped to them")
    assert commands.values == {"clamped_ticks": "1", "shoulder_pan_read_rad": f"{pose[0]:.4f}",
                               "wrist_roll_read_rad": f"{pose[4]:.4f}"}
    for servo_id in (1, 5):  # back within the limits: the WARN stays clamp_report_s, then OK
        servo = emulator.servo(servo_id)
        servo.position = servo.to_absolute(2048)
    np.testing.assert_array_equal(leader.tick(t + 0.3), leader.state.position)
    assert leader.reports(t + 0.3)[1].level is Level.WARN
    leader.tick(t + 0.7)
    commands = leader.reports(t + 0.7)[1]
    assert (commands.level, commands.values["clamped_ticks"]) == (Level.OK, "1")
    leader.close()


def test_lerobots_so101_follower_runs_on_the_emulator_with_our_calibration(pty, emulator, robot,
                                                                        example_calibration, tmp_path):
    ours = make_arm(pty, robot, example_calibration)
    ours.connect()
    expected = ours.read().position
    ours.close()
    shutil.copy(example_calibration, tmp_path / "example.json")
    theirs = SOFollower(SOFollowerRobotConfig(port=pty.path, id="example", calibration_dir=tmp_path))
    slow = theirs.bus.port_handler  # the emulator on a busy machine: more than LeRobot's 50 ms
    slow.setPacketTimeout = lambda n: slow.setPacketTimeoutMillis(slow.tx_time_per_byte * (n + 3) + TIMEOUT_MS)
    theirs.connect(calibrate=False)
    assert theirs.is_calibrated  # the servos hold what our file says
    observation = theirs.get_observation()
    for k, name in enumerate(JOINTS[:5]):
        assert math.radians(observation[f"{name}.pos"]) == pytest.approx(expected[k], abs=1e-9)
    lower, upper = robot.lower[5], robot.upper[5]
    assert lower + observation["gripper.pos"] / 100 * (upper - lower) == pytest.approx(expected[5], abs=1e-9)
    theirs.disconnect()
