"""Calibration files (LeRobot's format and places), the steps <-> radians mapping against LeRobot's
own normalisation, and the calibration procedure against a sweeping emulator."""

from __future__ import annotations

import json
import math

import draccus
import numpy as np
import pytest
from lerobot.motors import Motor, MotorCalibration, MotorNormMode
from lerobot.motors.feetech import FeetechMotorsBus

from so101.hardware import calibration as cal_module
from so101.hardware.calibrate import calibrate
from so101.hardware.calibration import JointMapping, find_calibration, load_calibration, save_calibration
from so101.hardware.errors import CalibrationError, CalibrationMissingError

from conftest import JOINTS, example_values, make_bus


def test_example_file_round_trips_through_lerobots_draccus_format(example_calibration, tmp_path):
    calibration = load_calibration(example_calibration, JOINTS)
    assert calibration["gripper"] == MotorCalibration(**example_values()["gripper"])
    saved = save_calibration(calibration, tmp_path / "deep" / "copy.json")
    assert json.loads(saved.read_text()) == example_values()
    with open(saved) as f, draccus.config_type("json"):  # exactly LeRobot's Robot._load_calibration
        assert draccus.load(dict[str, MotorCalibration], f) == calibration


def test_files_are_found_where_lerobot_keeps_them(tmp_path, monkeypatch, example_calibration):
    monkeypatch.setattr(cal_module, "HF_LEROBOT_CALIBRATION", tmp_path)
    with pytest.raises(CalibrationMissingError, match=r"sim2real calibrate --port <port> --id arm7 --leader"):
        find_calibration("arm7", "leader")
    legacy = tmp_path / "teleoperators" / "so101_leader" / "arm7.json"  # LeRobot before the so_* merge
    legacy.parent.mkdir(parents=True)
    legacy.write_text(example_calibration.read_text())
    assert find_calibration("arm7", "leader") == legacy
    assert cal_module.calibration_path("arm7", "follower") == tmp_path / "robots" / "so_follower" / "arm7.json"


@pytest.mark.parametrize("edit,message", [
    (lambda d: d.pop("elbow_flex"), "no entry for \\['elbow_flex'\\]"),
    (lambda d: d["wrist_flex"].update(range_min=3000, range_max=2000), "wrist_flex: expected 0 <= range_min"),
    (lambda d: d["gripper"].update(homing_offset=2500), "outside"),
    (lambda d: d["gripper"].pop("range_max"), "not a LeRobot calibration file"),
])
def test_bad_files_are_refused_with_the_reason(tmp_path, edit, message):
    data = example_values()
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match=message):
        load_calibration(path, JOINTS)


def test_mapping_is_lerobots_normalisation_in_radians(robot):
    """Body joints: LeRobot DEGREES -> rad; gripper: LeRobot RANGE_0_100 -> the gripper limits."""
    values = example_values()
    values["gripper"]["drive_mode"] = 1
    calibration = {name: MotorCalibration(**v) for name, v in values.items()}
    modes = {name: MotorNormMode.RANGE_0_100 if name == "gripper" else MotorNormMode.DEGREES for name in JOINTS}
    lerobot = FeetechMotorsBus("unused", {n: Motor(calibration[n].id, "sts3215", modes[n]) for n in JOINTS},
                               calibration)
    lower, upper = robot.joints[-1].lower, robot.joints[-1].upper
    for name in JOINTS:
        c = calibration[name]
        mapping = JointMapping(c, (lower, upper) if name == "gripper" else None)
        for steps in np.linspace(c.range_min, c.range_max, 7).round().astype(int):
            theirs = lerobot._normalize({c.id: int(steps)})[c.id]
            if name == "gripper":
                assert mapping.to_radians(steps) == pytest.approx(lower + theirs / 100 * (upper - lower))
            else:
                assert mapping.to_radians(steps) == pytest.approx(math.radians(theirs))
            assert mapping.to_steps(mapping.to_radians(steps)) == steps
            ours = mapping.to_steps(mapping.to_radians(steps))
            assert abs(ours - lerobot._unnormalize({c.id: theirs})[c.id]) <= 1  # LeRobot truncates, we round
    gripper = JointMapping(calibration["gripper"], (lower, upper))
    assert gripper.to_radians(calibration["gripper"].range_max) == pytest.approx(lower)  # drive_mode 1: inverted
    assert gripper.rad_per_step < 0
    pan = JointMapping(calibration["shoulder_pan"])
    assert pan.to_steps(10.0) == calibration["shoulder_pan"].range_max  # clamped to the calibrated range


def test_calibrate_records_homing_and_ranges_like_lerobot(emulator, pty):
    amplitudes = {1: 800, 2: 700, 3: 600, 4: 500, 5: 300, 6: 400}
    bus = make_bus(pty.path)
    bus.connect()
    for servo_id in range(1, 7):
        emulator.servo(servo_id).position = 1500.0 + 100 * servo_id  # arbitrary "middle" pose
    samples = []
    centre = 2047  # every joint reads mid-range once homed

    def user_moves_joints(table) -> None:  # a hand sweeps each joint, one step per sample (no wall-clock timing)
        samples.append(table)
        phase = 2 * math.pi * len(samples) / 20
        for servo_id, amplitude in amplitudes.items():
            servo = emulator.servo(servo_id)
            servo.position = servo.to_absolute(centre + amplitude * math.sin(phase))

    def swept() -> bool:  # more than two full sweeps seen
        return len(samples) > 45

    calibration = calibrate(bus, wait_centred=lambda: None, recording_done=swept, show=user_moves_joints)
    for servo_id, name in enumerate(JOINTS, start=1):
        c = calibration[name]
        assert c.id == servo_id and c.drive_mode == 0
        assert c.homing_offset == 1500 + 100 * servo_id - 2047
        if name == "wrist_roll":
            assert (c.range_min, c.range_max) == (0, 4095)
        else:
            assert c.range_min == pytest.approx(centre - amplitudes[servo_id], abs=1)
            assert c.range_max == pytest.approx(centre + amplitudes[servo_id], abs=1)
    assert bus.read_calibration() == calibration  # written to the servos' EEPROM
    assert set(samples[-1]) == set(JOINTS) - {"wrist_roll"}
    bus.close()


def test_calibrate_refuses_a_joint_that_never_moved(emulator, pty):
    bus = make_bus(pty.path)
    bus.connect()
    polls = iter(range(5))
    with pytest.raises(CalibrationError, match=r"\['shoulder_lift', 'elbow_flex', 'wrist_flex', 'gripper'\] did not"):
        calibrate(bus, wait_centred=lambda: emulator.start_sweep(1, 300, 0.5),
                  recording_done=lambda: next(polls) >= 4)
    bus.close()
