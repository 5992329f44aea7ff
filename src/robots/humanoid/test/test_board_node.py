"""The humanoid's board node (a real process, as a launcher starts it) on the emulated LSC-24,
probed from a real rclpy node: estimated joint_states follow speed commands, the battery on
/diagnostics, and on Ctrl-C the node says why it ends and stops, then releases, every servo."""

from __future__ import annotations

import time

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from sensor_msgs.msg import JointState

from humanoid.paths import data_dir
from lsc24.emulator import Lsc24Emulator, PtyBoard
from sim2real_common.ros_testing import isolate_ros, spin_until, start_node, stop_node

DEADLINE_S = 30.0


class Probe(Node):
    def __init__(self) -> None:
        super().__init__("probe", namespace="humanoid")
        self.states: list[JointState] = []
        self.status: dict[str, DiagnosticStatus] = {}
        self.create_subscription(JointState, "joint_states", self.states.append, 50)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        self.commands = self.create_publisher(JointState, "joint_commands", 10)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            self.status[status.name.rpartition(": ")[2]] = status

    def knee(self) -> float | None:
        if not self.states:
            return None
        last = self.states[-1]
        return last.position[list(last.name).index("right_knee")]


@pytest.fixture
def ros(tmp_path):
    isolate_ros(tmp_path / "ros_log")
    rclpy.init()
    yield tmp_path
    rclpy.shutdown()


def test_the_node_follows_speeds_reports_the_battery_and_stops_everything_on_ctrl_c(ros):
    emulator = Lsc24Emulator(battery_mv=7400)
    with PtyBoard(emulator, ros / "ttyLsc24") as pty:
        log = ros / "node.log"
        node = start_node("humanoid.hardware.node", namespace="humanoid", log=log,
                          params={"link": f"serial:{pty.link}", "battery_period_s": 0.2,
                                  "calibration_file": str(data_dir("config") / "lsc24_calibration.yaml")})
        probe = Probe()
        try:
            assert spin_until(probe, lambda: probe.knee() is not None, DEADLINE_S), log.read_text()
            start = probe.knee()
            command = JointState(name=["right_knee"], velocity=[1.0])

            def bent() -> bool:
                probe.commands.publish(command)
                return probe.knee() > start + 0.2 and emulator.target(6) not in (None, 1500)

            assert spin_until(probe, bent, DEADLINE_S), "the estimate never followed the command"
            battery = lambda: probe.status.get("battery")  # noqa: E731
            assert spin_until(probe, lambda: battery() is not None and "7.40 V" in battery().message, DEADLINE_S)
            assert probe.status["link"].level == DiagnosticStatus.OK
        finally:
            probe.destroy_node()
            code = stop_node(node)
        assert code == 0, log.read_text()
        assert "SIGINT: stopping every servo, then releasing them" in log.read_text()
        end = time.monotonic() + DEADLINE_S  # the stop and release frames reach the board at 9600 baud
        while any(emulator.target(channel) is not None for channel in range(24)):
            assert time.monotonic() < end, f"still outputting after Ctrl-C: {emulator.pulses()}"
            time.sleep(0.01)
