"""Command watchdog (ROS-free): notices that the command stream went silent."""

from __future__ import annotations


class CommandWatchdog:
    """Expired when no command came for longer than ``timeout_s`` (and before the first one)."""

    def __init__(self, timeout_s: float) -> None:
        if not timeout_s > 0:
            raise ValueError(f"watchdog timeout: expected > 0 s, got {timeout_s}")
        self.timeout_s = timeout_s
        self.last: float | None = None

    def feed(self, now: float) -> None:
        self.last = now

    def expired(self, now: float) -> bool:
        return self.last is None or now - self.last > self.timeout_s

    def silence(self, now: float) -> float | None:
        """Seconds since the last command; None before the first."""
        return None if self.last is None else now - self.last
