"""Reports of the control loops -> /diagnostics (diagnostic_msgs/DiagnosticArray) and the node log."""

from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

from sim2real_hardware.reports import Level, Report


class DiagnosticsPublisher:
    """Publishes every ``period_s`` and at once when a level or message changes (logging the change)."""

    def __init__(self, node: Node, hardware_id: str, period_s: float = 0.5) -> None:
        self.node = node
        self.hardware_id = hardware_id
        self.period_s = period_s
        self.prefix = f"{node.get_namespace().strip('/')}/{node.get_name()}".lstrip("/")
        self.pub = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._last: dict[str, tuple[Level, str]] = {}
        self._last_time = -float("inf")

    def publish(self, reports: list[Report]) -> None:
        now = time.monotonic()
        current = {r.name: (r.level, r.message) for r in reports}
        changed = [r for r in reports if self._last.get(r.name) != (r.level, r.message)]
        if not changed and now - self._last_time < self.period_s:
            return
        logger = self.node.get_logger()
        for report in changed:  # one call site per severity: rclpy refuses to mix them on one line
            if report.level is Level.ERROR:
                logger.error(f"{report.name}: {report.message}")
            elif report.level is Level.WARN:
                logger.warning(f"{report.name}: {report.message}")
            else:
                logger.info(f"{report.name}: {report.message}")
        self._last, self._last_time = current, now
        msg = DiagnosticArray()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.status = [DiagnosticStatus(level=bytes([int(r.level)]), name=f"{self.prefix}: {r.name}",
                                       message=r.message, hardware_id=self.hardware_id,
                                       values=[KeyValue(key=k, value=v) for k, v in r.values.items()])
                      for r in reports]
        self.pub.publish(msg)
