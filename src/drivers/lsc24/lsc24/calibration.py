"""Per-channel calibration of continuous-rotation servos on an LSC-24: a YAML file, and the mapping
between a speed command (rad/s) and a pulse width (us) through it.

Servo model: pulses within ``deadband_us`` of ``stop_us`` do not turn the servo; beyond it the
speed grows by 1 rad/s per ``us_per_rad_s`` us, in the direction ``sign`` gives for pulses above
the stop point. ``speed_to_pulse`` never returns a pulse outside [``min_us``, ``max_us``].

File (channels are board channels 0..31)::

    channels:
      0: {stop_us: 1500, deadband_us: 12, sign: 1, us_per_rad_s: 80.0, min_us: 1000, max_us: 2000}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from sim2real_common.errors import did_you_mean

from lsc24.errors import CalibrationError
from lsc24.protocol import MAX_ID, U16_MAX


@dataclass(frozen=True)
class ChannelCalibration:
    stop_us: int  # pulse at which the servo stands still (~1500)
    deadband_us: int  # half-width of the band around stop_us that does not turn the servo
    sign: int  # +1: pulses above stop_us turn the joint in its positive direction; -1: the other way
    us_per_rad_s: float  # pulse change per rad/s beyond the deadband
    min_us: int  # calibrated range: nothing outside it is ever sent
    max_us: int

    def pulse_limits(self) -> tuple[int, int]:
        return self.min_us, self.max_us


FIELDS = tuple(ChannelCalibration.__dataclass_fields__)
_INTEGER_FIELDS = ("stop_us", "deadband_us", "min_us", "max_us")


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_channel(path: Path | str, channel: int, c: ChannelCalibration) -> None:
    """The first field of ``c`` that is wrong, as a ``CalibrationError`` naming file, channel and field."""
    def fail(field: str, expected: str) -> None:
        raise CalibrationError(path, channel, field, expected, _describe(getattr(c, field)))

    for field in _INTEGER_FIELDS:
        value = getattr(c, field)
        if isinstance(value, bool) or not isinstance(value, int):
            fail(field, "an integer number of microseconds")
    if isinstance(c.us_per_rad_s, bool) or not isinstance(c.us_per_rad_s, (int, float)) \
            or not math.isfinite(c.us_per_rad_s) or c.us_per_rad_s <= 0:
        fail("us_per_rad_s", "a number > 0 (us per rad/s)")
    if c.sign not in (1, -1) or isinstance(c.sign, bool):
        fail("sign", "1 or -1")
    if not 0 < c.min_us < U16_MAX:
        fail("min_us", f"1..{U16_MAX - 1}")
    if not c.min_us < c.max_us <= U16_MAX:
        fail("max_us", f"{c.min_us + 1}..{U16_MAX} (above min_us)")
    if c.deadband_us < 0:
        fail("deadband_us", ">= 0")
    low, high = c.min_us + c.deadband_us, c.max_us - c.deadband_us
    if not low <= c.stop_us <= high:
        fail("stop_us", f"{low}..{high} (min_us + deadband_us .. max_us - deadband_us)")


@dataclass(frozen=True)
class Calibration:
    """Every calibrated channel of one board (channel -> ``ChannelCalibration``)."""

    channels: Mapping[int, ChannelCalibration]

    def __post_init__(self) -> None:
        for channel, c in self.channels.items():
            check_channel("<calibration>", channel, c)

    def channel(self, channel: int) -> ChannelCalibration:
        try:
            return self.channels[channel]
        except KeyError:
            raise ValueError(f"channel {channel} is not calibrated; calibrated channels: "
                             f"{', '.join(map(str, sorted(self.channels))) or 'none'}") from None

    def stop_pulse(self, channel: int) -> int:
        return self.channel(channel).stop_us

    def pulse_limits(self) -> dict[int, tuple[int, int]]:
        """Channel -> (min_us, max_us), the form ``encode_servo_move`` takes."""
        return {channel: c.pulse_limits() for channel, c in self.channels.items()}

    def speed_to_pulse(self, channel: int, rad_per_s: float) -> int:
        """The pulse that turns ``channel`` at ``rad_per_s``: the stop pulse for 0, just past the
        deadband for the smallest speeds, clipped to the calibrated range."""
        c = self.channel(channel)
        if not math.isfinite(rad_per_s):
            raise ValueError(f"channel {channel}: speed must be a finite number of rad/s, got {rad_per_s}")
        if rad_per_s == 0:
            return c.stop_us
        offset = math.copysign(c.deadband_us + c.us_per_rad_s * abs(rad_per_s), rad_per_s)
        return min(c.max_us, max(c.min_us, round(c.stop_us + c.sign * offset)))

    def pulse_to_speed(self, channel: int, pulse_us: float) -> float:
        """The speed (rad/s) a pulse gives, by the same model (0 inside the deadband)."""
        c = self.channel(channel)
        beyond = abs(pulse_us - c.stop_us) - c.deadband_us
        if beyond <= 0:
            return 0.0
        return c.sign * math.copysign(beyond / c.us_per_rad_s, pulse_us - c.stop_us)


def load_calibration(path: Path | str) -> Calibration:
    """Read and check a calibration file; any problem is one ``CalibrationError`` (file, channel, field)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise CalibrationError(path, None, "<file>", "a readable calibration file", err.strerror or str(err)) from err
    except yaml.YAMLError as err:
        raise CalibrationError(path, None, "<file>", "YAML", f"malformed YAML ({' '.join(str(err).split())})") from err
    if not isinstance(data, dict) or set(data) != {"channels"}:
        found = sorted(data) if isinstance(data, dict) else _describe(data)
        raise CalibrationError(path, None, "<file>", "a mapping with the one key 'channels'", str(found))
    channels = data["channels"]
    if not isinstance(channels, dict) or not channels:
        raise CalibrationError(path, None, "channels", "a non-empty mapping channel -> fields", _describe(channels))
    result = {}
    for channel, fields in channels.items():
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= MAX_ID:
            raise CalibrationError(path, None, "channels", f"channel numbers 0..{MAX_ID}", _describe(channel))
        if not isinstance(fields, dict):
            raise CalibrationError(path, channel, "<channel>", f"a mapping of {', '.join(FIELDS)}", _describe(fields))
        for key in fields:
            if key not in FIELDS:
                raise CalibrationError(path, channel, str(key), f"one of {', '.join(FIELDS)}"
                                                                f"{did_you_mean(key, FIELDS)}", "an unknown key")
        for key in FIELDS:
            if key not in fields:
                raise CalibrationError(path, channel, key, "a value", "nothing (missing)")
        c = ChannelCalibration(**fields)
        check_channel(path, channel, c)
        result[channel] = c
    return Calibration(result)


def save_calibration(calibration: Calibration, path: Path | str) -> None:
    """Write the file ``load_calibration`` reads (one flow mapping per channel)."""
    lines = ["# LSC-24 servo calibration: per channel stop pulse, deadband half-width, direction,",
             "# pulse change per rad/s and the pulse range nothing is sent outside of (all in us).",
             "channels:"]
    for channel, c in sorted(calibration.channels.items()):
        fields = ", ".join(f"{k}: {v}" for k, v in asdict(c).items())
        lines.append(f"  {channel}: {{{fields}}}")
    Path(path).write_text("\n".join(lines) + "\n")
