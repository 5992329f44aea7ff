"""The humanoid in MuJoCo behind an emulated LSC-24 (a pty at 9600 baud), driven by the real driver:
stop pulses keep it standing, a speed on a channel turns its joint (mounting sign applied), a servo
whose true stop point is off the driver's creeps while the driver commands 0; and
`sim2real emulate humanoid` ends on SIGTERM with its summary line. ROS-free.

The physics runs on a thread of a possibly busy 2-core machine: the tests wait for conditions with
generous deadlines and never assert on wall-clock rates.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable, TypeVar

import pytest

from humanoid.hardware.sim_board import SimulatedHumanoid, default_calibration_file
from lsc24.board import Lsc24Board
from lsc24.calibration import Calibration, load_calibration
from lsc24.emulator import Lsc24Emulator, PtyBoard
from lsc24.transport import open_transport

DEADLINE_S = 30.0
T = TypeVar("T")


def wait_until(condition: Callable[[], T], what: str, timeout: float = DEADLINE_S) -> T:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` s naming ``what``."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.01)


@pytest.fixture
def calibration() -> Calibration:
    """What the driver sends with (and, unless a test says otherwise, what the servos do)."""
    return load_calibration(default_calibration_file())


@contextmanager
def rig(calibration: Calibration, tmp_path, true_calibration: Calibration | None = None
        ) -> Iterator[tuple[Lsc24Board, SimulatedHumanoid]]:
    """A driver on the pty of an emulated board whose pulses drive the running model."""
    emulator = Lsc24Emulator()
    with PtyBoard(emulator, tmp_path / "ttyLsc24") as pty, \
            SimulatedHumanoid(emulator, true_calibration=true_calibration) as sim, \
            Lsc24Board(open_transport(f"serial:{pty.link}"), calibration) as board:
        yield board, sim


def stop_everything(board: Lsc24Board, sim: SimulatedHumanoid) -> None:
    """Stop pulses on every joint's channel, and wait until the board outputs them."""
    channels = sim.channel_map.channels.values()
    board.set_speeds(dict.fromkeys(channels, 0.0))
    wait_until(lambda: set(channels) <= set(sim.emulator.pulses()), "stop pulses on every channel")


def test_stop_pulses_keep_it_standing(calibration, tmp_path):
    with rig(calibration, tmp_path) as (board, sim):
        stop_everything(board, sim)
        start = sim.sim_time
        wait_until(lambda: sim.sim_time >= start + 2.0, "2 s simulated")
        x, y, z = sim.torso_position
        home_x, home_y, home_z = sim.home_torso
        assert abs(z - home_z) < 0.01 and abs(x - home_x) < 0.01 and abs(y - home_y) < 0.01, sim.torso_position
        assert not sim.fell


def test_a_positive_speed_bends_the_knees(calibration, tmp_path):
    """Right knee (mounting sign +1) and left knee (-1): a positive joint speed bends each positively."""
    with rig(calibration, tmp_path) as (board, sim):
        knees = ("right_knee", "left_knee")
        assert {sim.channel_map.signs[k] for k in knees} == {1, -1}  # both mountings are covered
        home = sim.joint_positions()
        stop_everything(board, sim)
        channels, signs = sim.channel_map.channels, sim.channel_map.signs
        speeds = dict.fromkeys(channels.values(), 0.0)
        speeds.update({channels[k]: signs[k] * 2.0 for k in knees})  # joint speed 2 rad/s -> servo speed
        board.set_speeds(speeds)

        def bent() -> dict[str, float] | None:
            now = sim.joint_positions()
            return now if all(now[k] > home[k] + 0.2 for k in knees) else None

        now = wait_until(bent, "both knees bent by 0.2 rad")
        assert abs(now["head_pan"] - home["head_pan"]) < 0.05  # a channel at its stop pulse stays put


def test_an_offset_stop_point_creeps_while_the_driver_commands_zero(calibration, tmp_path):
    joint = "head_pan"
    channel = 0
    true = dataclasses.replace(calibration.channel(channel), stop_us=calibration.stop_pulse(channel) + 60)
    true_calibration = Calibration({**calibration.channels, channel: true})
    with rig(calibration, tmp_path, true_calibration) as (board, sim):
        assert sim.channel_map.channels[joint] == channel
        home = sim.joint_positions()[joint]
        stop_everything(board, sim)  # the driver's stop pulse: 60 us below this servo's true stop
        assert sim.emulator.target(channel) == calibration.stop_pulse(channel)
        # Below the stop point a servo turns backwards (its calibration sign), times the mounting sign.
        direction = -true.sign * sim.channel_map.signs[joint]
        wait_until(lambda: direction * (sim.joint_positions()[joint] - home) > 0.1, f"{joint} creeping by 0.1 rad")


def test_emulate_ends_on_sigterm_with_its_summary(tmp_path):
    link, video = tmp_path / "ttyHumanoid", tmp_path / "follow.mp4"
    code = ("import argparse, sys; from humanoid.hardware.emulate import add_emulator; "
            "p = argparse.ArgumentParser(); add_emulator(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); "
            "sys.exit(a.handler(a))")
    process = subprocess.Popen([sys.executable, "-c", code, "humanoid", "--link", str(link), "--video", str(video)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")})
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "humanoid in MuJoCo on an emulated LSC-24" in first and link.is_symlink(), first
        with Lsc24Board(open_transport(f"serial:{link}"), load_calibration(default_calibration_file())) as board:
            board.set_speeds({0: 0.0})
            board.flush()
            assert board.battery_mv() == 7400  # answered after the move: both frames decoded
        wait_until(video.is_file, "the first video frame (the encoder makes the file then)")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    last = out.strip().splitlines()[-1]
    assert last.startswith("humanoid: ") and "s simulated, walked" in last and "did not fall" in last, last
    assert "LSC-24 frames 2 decoded / 0 dropped" in last, last
    assert video.stat().st_size > 0 and not link.exists()
