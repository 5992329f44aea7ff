"""The humanoid's hardware adapter (a RobotInterface, ROS-free): 17 continuous-rotation servos on
an LSC-24 board, reached through the lsc24 driver.

A joint command is a speed (rad/s, the model's joint axis). It goes to the joint's LSC-24 channel
x the mounting sign (robot config ``channels``, ``signs``), and the board's calibration turns it
into a pulse (per servo: stop pulse, deadband, direction, us per rad/s, limits). The board sends
only the newest move once the link is free, so a slow link never builds a queue of stale commands.

What each fault does (the hardware node reports which, on /diagnostics and in its log):

| situation | the servos | report |
|---|---|---|
| connect (also after a lost link) | every channel at its stop pulse | device OK |
| joint_commands silent (the loop's watchdog) | every channel at its stop pulse | commands WARN |
| battery below ``battery_min_v`` | stop pulses, then released; stays so until the node restarts | battery ERROR |
| link lost | the board keeps its last pulses (nothing can reach it); stopped on reconnect | device ERROR |
| the node ends (Ctrl+C, SIGTERM, shutdown) | stop pulses, then released | logged |

The battery is asked for every ``battery_period_s`` without waiting (4 bytes out, 6 back); a
voltage counts once a reply arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from lsc24.board import Lsc24Board
from lsc24.calibration import Calibration, load_calibration
from lsc24.errors import LinkLostError, PortError
from lsc24.transport import Transport, open_transport
from sim2real_common.config_files import load_yaml
from sim2real_common.errors import ConfigError, HardwareError
from sim2real_common.robot_config import RobotConfig
from sim2real_hardware.errors import DeviceLostError
from sim2real_hardware.reports import Level, Report
from sim2real_hardware.robot_interface import Hold, JointReading

T = TypeVar("T")


@dataclass(frozen=True)
class BoardConfig:
    link: str = "auto:/dev/ttyUSB0"  # serial:<port>, hid, hid:<path> or auto[:<port>] (lsc24.transport)
    calibration_file: str = ""  # the board's servo calibration (lsc24.calibration)
    battery_min_v: float = 6.4  # 2S LiPo: below this every servo stops and is released
    battery_period_s: float = 2.0


@dataclass(frozen=True)
class ChannelMap:
    """Joint name -> (LSC-24 channel, +1/-1 mounting sign), from the robot config file."""

    channels: dict[str, int]
    signs: dict[str, int]

    @classmethod
    def load(cls, path: Path, joint_names: list[str]) -> ChannelMap:
        data = load_yaml(path)
        channels, signs = data.get("channels"), data.get("signs")
        for key, table in (("channels", channels), ("signs", signs)):
            if not isinstance(table, dict) or sorted(table) != sorted(joint_names):
                found = sorted(table) if isinstance(table, dict) else table
                raise ConfigError(path, key, f"expected one entry per joint ({', '.join(joint_names)}), found {found}")
        if len(set(channels.values())) != len(channels):
            raise ConfigError(path, "channels", f"expected one channel per joint, found {channels}")
        bad = {name: sign for name, sign in signs.items() if sign not in (1, -1) or isinstance(sign, bool)}
        if bad:
            raise ConfigError(path, "signs", f"expected 1 or -1 per joint, found {bad}")
        return cls(channels={n: int(channels[n]) for n in joint_names}, signs={n: int(signs[n]) for n in joint_names})


class HumanoidBoard:
    """RobotInterface of the humanoid on one LSC-24 (see the module docstring)."""

    def __init__(self, config: BoardConfig, robot: RobotConfig, channels: ChannelMap,
                 open_link: Callable[[str], Transport] = open_transport) -> None:
        self.config, self.robot, self.map = config, robot, channels
        self.joint_names = robot.joint_names
        self.calibration: Calibration = load_calibration(config.calibration_file)
        missing = [f"{n} (channel {c})" for n, c in channels.channels.items() if c not in self.calibration.channels]
        if missing:
            raise ConfigError(config.calibration_file, "channels", f"no calibration for {', '.join(missing)}")
        self.device_values = {"link": config.link, "calibration": str(config.calibration_file)}
        self._open_link = open_link
        self._board: Lsc24Board | None = None
        self._last_request = float("-inf")
        self._requests_unanswered = 0
        self._answered = 0  # battery replies counted at the last request
        self._battery_mv: int | None = None
        self._low_battery = ""  # why every servo is stopped for good ('' while the battery is fine)

    # -- life cycle ----------------------------------------------------------------------------
    def connect(self) -> str:
        try:
            transport = self._open_link(self.config.link)
        except PortError as err:
            raise HardwareError(str(err)) from err
        self._board = Lsc24Board(transport, self.calibration)
        self._board.start()
        self._stop()  # whatever the board was doing before: stopped
        self._last_request, self._requests_unanswered, self._answered = float("-inf"), 0, 0
        return f"connected on {transport.name}, {len(self.joint_names)} servos"

    def close(self) -> None:
        board, self._board = self._board, None
        if board is not None:
            board.close()

    def stop_safe(self) -> None:
        """Every servo at its stop pulse, then released (no pulse: the motors are off)."""
        self._call(lambda board: board.stop_all(self.map.channels.values()))

    # -- the loop's tick -----------------------------------------------------------------------
    def read(self, now: float) -> JointReading:
        """Nothing reads back: the loop reports the estimate. Polls the battery meanwhile."""
        count, millivolts = self._call(lambda board: board.last_battery)
        if millivolts is not None and count > 0:
            self._battery_mv = millivolts
        if now - self._last_request >= self.config.battery_period_s:
            self._requests_unanswered = 0 if count > self._answered else self._requests_unanswered + 1
            self._answered = count
            self._call(lambda board: board.request_battery())
            self._last_request = now
        return JointReading(position=dict(zip(self.joint_names, self.robot.home)))

    def protect(self, now: float) -> Hold | None:
        if self._low_battery:
            return Hold(Level.ERROR, self._low_battery)
        volts = self._battery_mv / 1000 if self._battery_mv is not None else None
        if volts is not None and volts < self.config.battery_min_v:
            self._low_battery = (f"battery {volts:.2f} V below {self.config.battery_min_v:.2f} V: every servo stopped "
                                 f"and released until the node restarts")
            self.stop_safe()
            return Hold(Level.ERROR, self._low_battery, renew=True)
        return None

    def command(self, targets: Mapping[str, float]) -> None:
        speeds = {self.map.channels[name]: self.map.signs[name] * speed
                  for name, speed in targets.items() if name in self.map.channels}
        self._call(lambda board: board.set_speeds(speeds))

    def hold(self) -> None:
        if not self._low_battery:  # released servos stay released
            self._stop()

    def reports(self, now: float) -> list[Report]:
        if self._board is None:
            return []
        counters = self._board.counters
        link = Report("link", Level.OK, f"{counters.sent} frames sent, {counters.superseded} superseded by newer "
                                        f"commands, {counters.dropped} garbled replies dropped",
                      {"sent": str(counters.sent), "superseded": str(counters.superseded),
                       "dropped": str(counters.dropped)})
        return [link, self._battery_report()]

    # -- internals -----------------------------------------------------------------------------
    def _battery_report(self) -> Report:
        values = {"min_v": f"{self.config.battery_min_v:.2f}"}
        if self._battery_mv is not None:
            values["voltage_v"] = f"{self._battery_mv / 1000:.2f}"
        if self._low_battery:
            return Report("battery", Level.ERROR, self._low_battery, values)
        if self._requests_unanswered >= 2:
            return Report("battery", Level.WARN, f"no battery reply to the last {self._requests_unanswered} requests",
                          values)
        if self._battery_mv is None:
            return Report("battery", Level.OK, "waiting for the first battery reply", values)
        return Report("battery", Level.OK, f"{self._battery_mv / 1000:.2f} V", values)

    def _stop(self) -> None:
        self._call(lambda board: board.set_speeds(dict.fromkeys(self.map.channels.values(), 0.0)))

    def _call(self, action: Callable[[Lsc24Board], T]) -> T:
        if self._board is None:
            raise DeviceLostError("the LSC-24 board is not connected")
        try:
            return action(self._board)
        except LinkLostError as err:
            raise DeviceLostError(str(err)) from err
