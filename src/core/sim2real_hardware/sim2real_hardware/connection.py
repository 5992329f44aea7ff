"""A device's connection (ROS-free): connected on demand, retried every period while that fails,
closed and retried when the device goes away; its status report."""

from __future__ import annotations

import math
from typing import Callable

from sim2real_common.errors import HardwareError
from sim2real_hardware.reports import Level, Report


class Connection:
    """``connect()`` opens the device and returns the report's message while it stays up
    (``connected, 6 servos``); it raises HardwareError when it cannot. ``close()`` releases the
    device without touching the robot (it may be gone)."""

    def __init__(self, connect: Callable[[], str], close: Callable[[], None], reconnect_period_s: float) -> None:
        if not reconnect_period_s > 0:
            raise ValueError(f"reconnect period: expected > 0 s, got {reconnect_period_s}")
        self._connect, self._close = connect, close
        self.reconnect_period_s = reconnect_period_s
        self.connected = False
        self.problem = "not connected yet"  # why it is not connected
        self._status = ""
        self._next_attempt = -math.inf

    def ensure(self, now: float) -> bool:
        """Connected? Tries to connect when not, at most once per reconnect period."""
        if self.connected:
            return True
        if now < self._next_attempt:
            return False
        try:
            self._status = self._connect()
        except HardwareError as err:
            self._retry_later(err, now)
            return False
        self.connected, self.problem = True, ""
        return True

    def lost(self, err: HardwareError, now: float) -> None:
        """The device went away: close it, retry a reconnect period from now."""
        self.connected = False
        self._retry_later(err, now)
        self._close()

    def disconnect(self, stop: Callable[[], None] | None = None) -> None:
        """Close on purpose (the node ends): ``stop()`` first (making the robot safe), then close
        (also when ``stop`` fails: the device may be gone); nothing when not connected."""
        if not self.connected:
            return
        self.connected = False
        try:
            if stop is not None:
                stop()
        finally:
            self._close()

    def report(self, name: str, values: dict[str, str], write_problem: str = "") -> Report:
        """ERROR while not connected, WARN when the last write failed, else OK."""
        if not self.connected:
            return Report(name, Level.ERROR, self.problem, values)
        if write_problem:
            return Report(name, Level.WARN, f"last write failed: {write_problem}", values)
        return Report(name, Level.OK, self._status, values)

    def _retry_later(self, err: HardwareError, now: float) -> None:
        self.problem = f"{err} (retrying every {self.reconnect_period_s:g} s)"
        self._next_attempt = now + self.reconnect_period_s
