"""Calibration file round trip, load errors naming file/channel/field, and the speed <-> pulse mapping
(stop in the deadband at 0, sign applied, never outside the calibrated range)."""

from __future__ import annotations

import math

import pytest

from lsc24.calibration import Calibration, ChannelCalibration, load_calibration, save_calibration
from lsc24.errors import CalibrationError

from conftest import make_calibration

GOOD = {"stop_us": 1500, "deadband_us": 10, "sign": 1, "us_per_rad_s": 100.0, "min_us": 1000, "max_us": 2000}


def write(tmp_path, text: str):
    path = tmp_path / "lsc24_calibration.yaml"
    path.write_text(text)
    return path


def test_save_then_load_round_trips(tmp_path, calibration):
    path = tmp_path / "cal.yaml"
    save_calibration(calibration, path)
    assert load_calibration(path) == calibration


@pytest.mark.parametrize("fields,channel,field,expected,found", [
    ({**GOOD, "sign": 2}, 4, "sign", "1 or -1", "2 (int)"),
    ({**GOOD, "stop_us": 1500.5}, 4, "stop_us", "an integer number of microseconds", "1500.5 (float)"),
    ({**GOOD, "us_per_rad_s": 0}, 4, "us_per_rad_s", "a number > 0", "0 (int)"),
    ({**GOOD, "max_us": 900}, 4, "max_us", "1001..65535 (above min_us)", "900 (int)"),
    ({**GOOD, "stop_us": 1995}, 4, "stop_us", "1010..1990", "1995 (int)"),
    ({**GOOD, "deadband_us": -1}, 4, "deadband_us", ">= 0", "-1 (int)"),
])
def test_bad_fields_name_file_channel_field_expected_and_found(tmp_path, fields, channel, field, expected, found):
    path = write(tmp_path, "channels:\n  4: {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}\n")
    with pytest.raises(CalibrationError) as err:
        load_calibration(path)
    message = str(err.value)
    assert message.startswith(f"{path}: channel {channel}: {field}: expected ")
    assert expected in message and message.endswith(f"found {found}")
    assert (err.value.channel, err.value.field) == (channel, field)


def test_missing_and_unknown_keys_and_file_problems(tmp_path):
    partial = {k: v for k, v in GOOD.items() if k != "deadband_us"}
    path = write(tmp_path, f"channels:\n  2: {partial}\n".replace("'", ""))
    with pytest.raises(CalibrationError, match=r"channel 2: deadband_us: expected a value, found nothing \(missing\)"):
        load_calibration(path)
    path = write(tmp_path, f"channels:\n  2: {dict(GOOD, stop_pulse=1500)}\n".replace("'", ""))
    with pytest.raises(CalibrationError, match=r"channel 2: stop_pulse: expected one of .*did you mean 'stop_us'"):
        load_calibration(path)
    with pytest.raises(CalibrationError, match=r"channels: expected channel numbers 0\.\.31, found 40"):
        load_calibration(write(tmp_path, f"channels:\n  40: {GOOD}\n".replace("'", "")))
    with pytest.raises(CalibrationError,
                       match=r"<file>: expected a mapping with the one key 'channels', found \['chanels'\]"):
        load_calibration(write(tmp_path, "chanels: {}\n"))
    with pytest.raises(CalibrationError, match="<file>: expected YAML, found malformed YAML"):
        load_calibration(write(tmp_path, "channels: [\n"))
    with pytest.raises(CalibrationError,
                       match=r"nope\.yaml: <file>: expected a readable calibration file, found No such"):
        load_calibration(tmp_path / "nope.yaml")


def test_zero_is_the_stop_pulse_and_small_speeds_jump_the_deadband(calibration):
    assert calibration.speed_to_pulse(0, 0.0) == 1500
    assert calibration.speed_to_pulse(0, 1e-6) == 1510 and calibration.speed_to_pulse(0, -1e-6) == 1490
    assert calibration.speed_to_pulse(0, 1.0) == 1610 and calibration.speed_to_pulse(0, -2.0) == 1290
    assert calibration.speed_to_pulse(12, 0.0) == 1520
    assert calibration.speed_to_pulse(12, 1.0) == 1520 - 16 - 80  # sign -1: positive speed below the stop point
    assert calibration.speed_to_pulse(12, -1.0) == 1520 + 16 + 80


def test_pulses_never_leave_the_calibrated_range(calibration):
    for channel, c in calibration.channels.items():
        for speed in [-1e9, -50.0, -3.3, -0.01, 0.0, 0.01, 2.7, 50.0, 1e9, 1e300]:
            assert c.min_us <= calibration.speed_to_pulse(channel, speed) <= c.max_us
    with pytest.raises(ValueError, match="finite"):
        calibration.speed_to_pulse(0, math.nan)
    with pytest.raises(ValueError, match="channel 7 is not calibrated; calibrated channels: 0, 1, 2, 3, 12"):
        calibration.speed_to_pulse(7, 1.0)


def test_pulse_to_speed_inverts_speed_to_pulse(calibration):
    for channel in (0, 12):
        c = calibration.channel(channel)
        for speed in (-4.0, -1.25, -0.3, 0.0, 0.3, 1.25, 4.0):
            pulse = calibration.speed_to_pulse(channel, speed)
            assert calibration.pulse_to_speed(channel, pulse) == pytest.approx(speed, abs=0.5 / c.us_per_rad_s)
        assert calibration.pulse_to_speed(channel, c.stop_us + c.deadband_us) == 0.0  # the deadband's edge is still


def test_calibration_built_in_code_is_checked_too():
    with pytest.raises(CalibrationError, match="<calibration>: channel 1: sign: expected 1 or -1"):
        Calibration({1: ChannelCalibration(**{**GOOD, "sign": 0})})
    assert make_calibration().pulse_limits()[12] == (1100, 1900)
