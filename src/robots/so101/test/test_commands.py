"""`sim2real emulate` (its own process, as a user runs it) and `sim2real calibrate` against it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import draccus
import pytest
from lerobot.motors import MotorCalibration

from sim2real_bringup.cli import main
from so101.hardware.commands import parse_ids

from conftest import JOINTS, TIMEOUT_MS, make_bus


def so101(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim2real_bringup.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))


@pytest.fixture
def emulate(tmp_path):
    """`sim2real emulate feetech --ids 1-6 --link <tmp>/ttyArm --sweep`, ready once it printed its port."""
    link = tmp_path / "ttyArm"
    proc = so101("emulate", "feetech", "--ids", "1-6", "--link", str(link), "--sweep")
    banner = proc.stdout.readline()
    yield proc, link, banner
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_parse_ids():
    assert parse_ids("1-6") == [1, 2, 3, 4, 5, 6]
    assert parse_ids("1, 2,7-8") == [1, 2, 7, 8]
    for bad in ("", "a-b", "3-1", "1,1", "300"):
        with pytest.raises(ValueError, match="servo ids"):
            parse_ids(bad)
    with pytest.raises(ValueError, match=r"range '6-1' runs backwards in '6-1'; expected first <= last, like 1-6"):
        parse_ids("6-1")


def test_emulate_refuses_bad_ids_and_a_link_onto_a_file_in_one_line(tmp_path, capsys):
    assert main(["emulate", "feetech", "--ids", "6-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sim2real: error: servo ids: range '6-1' runs backwards") and err.count("\n") == 1
    taken = tmp_path / "notes.txt"
    taken.write_text("keep me")
    assert main(["emulate", "feetech", "--link", str(taken)]) == 2
    err = capsys.readouterr().err
    assert err == f"sim2real: error: --link {taken}: is a file, not a symlink an emulator made; " \
                  "choose another path or remove it\n"
    assert taken.read_text() == "keep me"
    assert main(["emulate", "feetech", "--link", str(tmp_path / "no" / "tty")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_emulate_serves_a_bus_on_a_pty_and_cleans_up(emulate):
    proc, link, banner = emulate
    assert banner.startswith("Feetech STS3215 bus emulator: servos [1, 2, 3, 4, 5, 6] on /dev/pts/"), banner
    assert link.is_symlink() and str(link.resolve()) == banner.split(" on ")[1].split()[0]
    bus = make_bus(str(link))
    bus.connect()
    assert bus.read_state()[1] == {}
    bus.close()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert not link.exists() and not link.is_symlink()


def test_calibrate_against_the_sweeping_emulator_writes_lerobots_file(emulate, tmp_path, capsys):
    _, link, _ = emulate
    path = tmp_path / "emulated.json"
    assert main(["calibrate", "--port", str(link), "--id", "emulated", "--yes", "--record-seconds", "2.5",
                 "--timeout-ms", str(TIMEOUT_MS), "-o", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"Calibration saved to {path}"
    with open(path) as f, draccus.config_type("json"):  # LeRobot's loader
        calibration = draccus.load(dict[str, MotorCalibration], f)
    assert list(calibration) == JOINTS
    assert (calibration["wrist_roll"].range_min, calibration["wrist_roll"].range_max) == (0, 4095)
    for name in JOINTS[:4] + JOINTS[5:]:  # swept +-900 steps about wherever homing caught it
        c = calibration[name]
        # The sweep runs on the wall clock: a loaded machine samples it more sparsely and can miss
        # the extremes (exact ranges: test_calibration.py, one sweep step per sample).
        assert 1000 <= c.range_max - c.range_min <= 1800 + 60, (name, c)
        assert c.range_min <= 2047 <= c.range_max
    bus = make_bus(str(link))  # the servos hold the same calibration now
    bus.connect()
    assert bus.read_calibration() == calibration
    bus.close()


def test_calibrate_reports_a_missing_port_in_one_line(tmp_path, capsys):
    assert main(["calibrate", "--port", str(tmp_path / "ttyNothing"), "--id", "x", "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sim2real calibrate: error: cannot open port") and err.count("\n") == 1
