"""RobotLoop's own logic (ROS-free) on a fake robot that records what it was asked: connect and
reconnect periods, watchdog hold, robot holds and fresh faults, write failures, safe close. A real
device path is tested through the Feetech emulator (src/robots/so101/test)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from sim2real_common.errors import HardwareError
from sim2real_hardware.errors import DeviceLostError
from sim2real_hardware.reports import Level, Report
from sim2real_hardware.robot_interface import Hold, JointReading
from sim2real_hardware.robot_loop import LoopConfig, RobotLoop

NAMES = ("a", "b")


class FakeRobot:
    """Two joints that go wherever they are told; ``fail`` makes the next call of that name raise."""

    joint_names = NAMES
    device_values = {"port": "fake"}

    def __init__(self) -> None:
        self.pose = {"a": 0.0, "b": 1.0}
        self.calls: list[str] = []
        self.commands: list[dict[str, float]] = []
        self.fail: dict[str, Exception] = {}  # method name -> raised once
        self.hold_reason: Hold | None = None

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail.pop(name)

    def connect(self) -> str:
        self._call("connect")
        return "connected, 2 joints"

    def close(self) -> None:
        self._call("close")

    def stop_safe(self) -> None:
        self._call("stop_safe")

    def read(self, now: float) -> JointReading:
        self._call("read")
        return JointReading(position=dict(self.pose))

    def protect(self, now: float) -> Hold | None:
        self._call("protect")
        return self.hold_reason

    def command(self, targets: Mapping[str, float]) -> None:
        self._call("command")
        self.commands.append(dict(targets))
        self.pose.update(targets)

    def hold(self) -> None:
        self._call("hold")

    def reports(self, now: float) -> list[Report]:
        return [Report("joint a", Level.OK, "ok")]


@pytest.fixture
def robot() -> FakeRobot:
    return FakeRobot()


@pytest.fixture
def loop(robot) -> RobotLoop:
    return RobotLoop(robot, LoopConfig(control_hz=10.0, watchdog_timeout_s=0.5, reconnect_period_s=2.0,
                                       device_report="bus"))


def report(loop: RobotLoop, name: str, now: float) -> tuple[Level, str]:
    [found] = [r for r in loop.reports(now) if r.name == name]
    return found.level, found.message


def test_holds_until_the_first_command_then_follows_by_name(loop, robot):
    assert loop.tick(0.0) == JointReading(position={"a": 0.0, "b": 1.0})
    assert robot.calls == ["connect", "read", "protect", "hold"]
    assert report(loop, "commands", 0.0) == (Level.OK, "holding position: no joint_commands yet")
    loop.tick(0.1)
    assert robot.calls.count("hold") == 1  # held once, not every tick
    loop.command({"a": 0.5, "nope": 3.0}, 0.2)
    loop.tick(0.2)
    assert robot.commands == [{"a": 0.5, "b": 1.0}]  # b: its hold pose
    commands = [r for r in loop.reports(0.2) if r.name == "commands"][0]
    assert (commands.level, commands.message) == (Level.OK, "following joint_commands")
    assert commands.values == {"watchdog_timeout_s": "0.5", "ignored_joint_names": "nope"}
    assert [r.name for r in loop.reports(0.2)] == ["bus", "commands", "joint a"]


def test_watchdog_holds_once_after_command_silence(loop, robot):
    loop.tick(0.0)
    loop.command({"a": 0.3}, 0.1)
    loop.tick(0.1)
    loop.tick(0.5)
    assert robot.calls.count("command") == 2 and robot.calls.count("hold") == 1
    loop.tick(0.7)  # 0.6 s of silence
    loop.tick(0.8)
    assert robot.calls.count("command") == 2 and robot.calls.count("hold") == 2
    assert report(loop, "commands", 0.8) == (
        Level.WARN, "no joint_commands for 0.7 s (timeout 0.5 s): holding position")
    loop.command({"b": 2.0}, 0.9)
    loop.tick(0.9)
    assert robot.commands[-1] == {"a": 0.3, "b": 2.0}


def test_a_robot_hold_wins_and_a_fresh_fault_holds_again(loop, robot):
    loop.tick(0.0)
    loop.command({"a": 0.3}, 0.1)
    robot.hold_reason = Hold(Level.ERROR, "servo 2 overheated", renew=True)
    loop.tick(0.1)
    robot.hold_reason = Hold(Level.ERROR, "servo 2 overheated")
    loop.command({"a": 0.4}, 0.2)
    loop.tick(0.2)
    assert robot.calls.count("hold") == 2 and "command" not in robot.calls
    assert report(loop, "commands", 0.2) == (Level.ERROR, "servo 2 overheated")
    robot.hold_reason = Hold(Level.ERROR, "servo 1 overheated too", renew=True)
    loop.tick(0.3)
    assert robot.calls.count("hold") == 3
    robot.hold_reason = None
    loop.command({"a": 0.4}, 0.4)
    loop.tick(0.4)
    assert robot.commands == [{"a": 0.4, "b": 1.0}]


def test_connect_is_retried_every_reconnect_period(loop, robot):
    robot.fail["connect"] = HardwareError("no such port")
    assert loop.tick(0.0) is None and not loop.connected
    assert report(loop, "bus", 0.0) == (Level.ERROR, "no such port (retrying every 2 s)")
    assert [r.name for r in loop.reports(0.0)] == ["bus", "joint a"]  # no commands report
    loop.tick(1.9)
    assert robot.calls == ["connect"]
    assert loop.tick(2.0) is not None and loop.connected
    assert report(loop, "bus", 2.0) == (Level.OK, "connected, 2 joints")


def test_a_lost_device_is_closed_and_reconnected_from_a_hold(loop, robot):
    loop.tick(0.0)
    loop.command({"a": 0.3}, 0.1)
    loop.tick(0.1)
    robot.fail["read"] = DeviceLostError("cable pulled")
    assert loop.tick(0.2) is None
    assert robot.calls[-2:] == ["read", "close"] and "stop_safe" not in robot.calls
    assert report(loop, "bus", 0.2) == (Level.ERROR, "cable pulled (retrying every 2 s)")
    loop.tick(1.0)
    assert robot.calls[-1] == "close"  # not before the period
    loop.command({"a": 0.3}, 2.2)
    loop.tick(2.2)
    assert robot.calls[-4:] == ["connect", "read", "protect", "command"]
    robot.fail["command"] = DeviceLostError("cable pulled again")
    loop.tick(2.3)  # lost while writing: the reading of this tick still counts
    assert not loop.connected and robot.calls[-1] == "close"


def test_a_failed_write_is_a_warning_until_one_goes_out(loop, robot):
    loop.tick(0.0)
    loop.command({"a": 0.3}, 0.1)
    robot.fail["command"] = HardwareError("servo 1 refused")
    assert loop.tick(0.1) is not None and loop.connected
    assert report(loop, "bus", 0.1) == (Level.WARN, "last write failed: servo 1 refused")
    loop.tick(0.2)
    assert report(loop, "bus", 0.2) == (Level.OK, "connected, 2 joints")


def test_close_stops_safely_then_closes_even_when_stopping_fails(loop, robot):
    loop.close()
    assert robot.calls == []  # never connected: nothing to stop
    loop.tick(0.0)
    robot.fail["stop_safe"] = HardwareError("bus gone")
    with pytest.raises(HardwareError, match="bus gone"):
        loop.close()
    assert robot.calls[-2:] == ["stop_safe", "close"] and not loop.connected
    loop.close()
    assert robot.calls.count("close") == 1


def test_operate_is_refused_while_disconnected_and_forgets_the_targets(loop, robot):
    robot.fail["connect"] = HardwareError("no such port")
    loop.tick(0.0)
    with pytest.raises(HardwareError, match=r"not connected: no such port \(retrying every 2 s\)"):
        loop.operate(lambda: "torque on")
    loop.tick(2.0)
    loop.command({"a": 0.3}, 2.1)
    loop.tick(2.1)

    def moved_by_hand() -> str:  # e.g. torque off, the arm moved, torque on
        robot.pose["a"] = -1.0
        return "torque on"

    assert loop.operate(moved_by_hand) == "torque on"
    loop.tick(2.2)
    assert robot.commands[-1] == {"a": -1.0, "b": 1.0}  # from where the robot stands, not back to 0.3
    loop.command({"b": 0.0}, 2.3)
    loop.tick(2.3)
    assert robot.commands[-1] == {"a": -1.0, "b": 0.0}
    loop.tick(3.0)  # silent: holds from there
    assert robot.calls[-1] == "hold"


def test_bad_periods_are_refused(robot):
    with pytest.raises(ValueError, match="control_hz"):
        LoopConfig(control_hz=0)
    with pytest.raises(ValueError, match="watchdog timeout"):
        RobotLoop(robot, LoopConfig(control_hz=10.0, watchdog_timeout_s=0))
    with pytest.raises(ValueError, match="reconnect period"):
        RobotLoop(robot, LoopConfig(control_hz=10.0, reconnect_period_s=-1))


def test_a_speed_commanded_robot_stops_uncommanded_joints_and_after_a_hold(robot):
    loop = RobotLoop(robot, LoopConfig(control_hz=10.0, watchdog_timeout_s=0.5, command="velocity"))
    loop.tick(0.0)
    loop.command({"a": 0.5}, 0.1)
    loop.tick(0.1)
    assert robot.commands == [{"a": 0.5, "b": 0.0}]  # b never commanded: speed 0, not its position
    loop.tick(0.7)  # silence: the watchdog stops the robot
    assert robot.calls.count("hold") == 2
    loop.command({"b": -0.2}, 0.8)
    loop.tick(0.8)
    assert robot.commands[-1] == {"a": 0.0, "b": -0.2}  # a's speed from before the hold is gone
    with pytest.raises(ValueError, match="command: expected one of"):
        LoopConfig(control_hz=10.0, command="torque")


class PwmRobot(FakeRobot):
    """Joint a is a continuous-rotation servo (nothing reads back), b is measured."""

    def read(self, now: float) -> JointReading:
        self._call("read")
        return JointReading(position={"b": self.pose["b"]})


def test_joints_without_feedback_are_reported_where_the_commands_took_them():
    from sim2real_common.joint_estimate import JointEstimate
    from sim2real_common.robot_config import JointSpec, RobotConfig

    config = RobotConfig(robot_type="pwm", namespace="pwm", control_hz=10.0, camera_frames={}, home=(0.0, 1.0),
                         joints=(JointSpec("a", -1.0, 1.0, 0.1, feedback=False), JointSpec("b", -2.0, 2.0, 0.2)),
                         command="velocity")
    robot = PwmRobot()
    loop = RobotLoop(robot, LoopConfig(control_hz=10.0, watchdog_timeout_s=0.5, command="velocity"),
                     JointEstimate(config, config.estimated_joints))
    assert loop.tick(0.0).position == {"a": 0.0, "b": 1.0}  # a: at home, b: read
    loop.command({"a": 0.5}, 0.0)
    loop.tick(0.0)
    assert loop.tick(0.4).position["a"] == pytest.approx(0.2)  # 0.5 rad/s for 0.4 s
    loop.tick(1.0)  # silence: the watchdog stops the servos, the estimate stops with them
    assert loop.tick(2.0).position["a"] == pytest.approx(0.5)
