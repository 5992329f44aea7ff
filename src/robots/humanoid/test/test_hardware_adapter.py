"""The humanoid's hardware adapter in core's RobotLoop on the emulated LSC-24 (a pty speaking the
board's frames at 9600 baud): speeds reach each joint's channel with its mounting sign through the
calibration, stop pulses on connect / command silence / a hold, stop-then-release on a low
battery (latched) and when the loop closes, a lost link is reported and the servos stopped on
reconnect, and the joint estimate follows the commanded speeds. ROS-free."""

from __future__ import annotations

import time

import pytest

from humanoid.hardware.adapter import BoardConfig, ChannelMap, HumanoidBoard
from humanoid.paths import data_dir
from lsc24.calibration import load_calibration
from lsc24.emulator import Lsc24Emulator, PtyBoard
from sim2real_common.config_files import resolve_config
from sim2real_common.joint_estimate import JointEstimate
from sim2real_common.robot_config import load_robot_config
from sim2real_hardware.reports import Level
from sim2real_hardware.robot_loop import LoopConfig, RobotLoop

CALIBRATION = data_dir("config") / "lsc24_calibration.yaml"
DEADLINE_S = 20.0


@pytest.fixture
def rig(tmp_path):
    emulator = Lsc24Emulator(battery_mv=7400)
    with PtyBoard(emulator, tmp_path / "ttyLsc24") as pty:
        robot_file = resolve_config("humanoid.yaml")
        robot = load_robot_config(robot_file)
        channels = ChannelMap.load(robot_file, robot.joint_names)
        board = HumanoidBoard(BoardConfig(link=f"serial:{pty.link}", calibration_file=str(CALIBRATION),
                                          battery_period_s=0.1), robot, channels)
        config = LoopConfig(control_hz=robot.control_hz, watchdog_timeout_s=0.5, reconnect_period_s=0.1,
                            device_report="board", command="velocity")
        loop = RobotLoop(board, config, JointEstimate(robot, robot.estimated_joints))
        yield loop, emulator, pty, channels
        loop.close()


def run_until(loop: RobotLoop, condition, what: str, command: dict[str, float] | None = None):
    """Tick the loop every 80 ms (feeding ``command``) until ``condition()`` holds."""
    end = time.monotonic() + DEADLINE_S
    while True:
        now = time.monotonic()
        if command is not None:
            loop.command(command, now)
        reading = loop.tick(now)
        value = condition()
        if value:
            return reading
        assert time.monotonic() < end, f"not within {DEADLINE_S} s: {what}"
        time.sleep(0.08)


def targets(emulator: Lsc24Emulator, channels: ChannelMap) -> dict[str, int | None]:
    return {name: emulator.target(channel) for name, channel in channels.channels.items()}


def test_speeds_reach_each_channel_with_its_sign_and_the_estimate_follows(rig):
    loop, emulator, _, channels = rig
    calibration = load_calibration(CALIBRATION)
    run_until(loop, lambda: set(targets(emulator, channels).values()) == {1500}, "stop pulses on connect")
    command = {"right_knee": 2.0, "left_knee": 2.0}
    expected = {name: calibration.speed_to_pulse(channels.channels[name], channels.signs[name] * 2.0)
                for name in command}
    assert expected["right_knee"] > 1500 > expected["left_knee"]  # the left knee's servo is mounted reversed
    reading = run_until(loop, lambda: all(targets(emulator, channels)[n] == p for n, p in expected.items()),
                        "the knee speeds on their channels", command)
    start = reading.position["right_knee"]
    reading = run_until(loop, lambda: True, "one more tick", command)
    assert reading.position["right_knee"] > start  # estimated from the commanded speed
    others = {n: p for n, p in targets(emulator, channels).items() if n not in command}
    assert set(others.values()) == {1500}  # joints not commanded: stopped


def test_command_silence_stops_every_servo(rig):
    loop, emulator, _, channels = rig
    run_until(loop, lambda: targets(emulator, channels)["right_hip_pitch"] not in (None, 1500), "moving",
              {"right_hip_pitch": -1.0})
    run_until(loop, lambda: set(targets(emulator, channels).values()) == {1500}, "stopped after the watchdog")
    commands = next(r for r in loop.reports(time.monotonic()) if r.name == "commands")
    assert commands.level == Level.WARN and "no joint_commands" in commands.message


def test_a_low_battery_stops_and_releases_every_servo_for_good(rig):
    loop, emulator, _, channels = rig
    run_until(loop, lambda: targets(emulator, channels)["left_knee"] not in (None, 1500), "moving", {"left_knee": 1.0})
    emulator.set_battery_mv(6000)
    run_until(loop, lambda: set(targets(emulator, channels).values()) == {None}, "released on low battery",
              {"left_knee": 1.0})
    battery = next(r for r in loop.reports(time.monotonic()) if r.name == "battery")
    assert battery.level == Level.ERROR and "6.00 V below 6.40 V" in battery.message
    emulator.set_battery_mv(7400)  # a recovering reading does not re-arm it
    for _ in range(5):
        run_until(loop, lambda: True, "a tick", {"left_knee": 1.0})
    assert set(targets(emulator, channels).values()) == {None}


def test_a_lost_link_is_reported_and_the_servos_stopped_on_reconnect(rig):
    loop, emulator, pty, channels = rig
    moving = {"right_knee": 1.0}
    run_until(loop, lambda: targets(emulator, channels)["right_knee"] not in (None, 1500), "moving", moving)
    pty.unplug()
    run_until(loop, lambda: not loop.connected, "the link lost", {"right_knee": 1.0})
    device = next(r for r in loop.reports(time.monotonic()) if r.name == "board")
    assert device.level == Level.ERROR
    pty.plug()
    run_until(loop, lambda: loop.connected and targets(emulator, channels)["right_knee"] == 1500,
              "reconnected and stopped")


def test_closing_the_loop_stops_then_releases(rig):
    loop, emulator, _, channels = rig
    run_until(loop, lambda: targets(emulator, channels)["head_pan"] not in (None, 1500), "moving", {"head_pan": 1.0})
    loop.close()
    end = time.monotonic() + DEADLINE_S  # the frames are on the wire; the board reads them at 9600 baud
    while set(targets(emulator, channels).values()) != {None}:
        assert time.monotonic() < end, f"still outputting after close: {targets(emulator, channels)}"
        time.sleep(0.01)
