"""Leader arm teleoperation node (name ``leader``, namespace ``so101``).

Reads the leader arm (torque off, moved by hand) at ``control_hz`` and publishes its pose as the
follower's ``joint_commands`` (sensor_msgs/JointState, rad, by joint name), clamped to the joint
limits of the robot config (a WARN on ``/diagnostics`` while it clamps). Nothing is published while
the leader is not completely readable, so the follower's watchdog holds the arm. Problems go to
``/diagnostics`` (``so101/leader: bus``, ``... : commands``, ``... : joint <name> (id <n>)``).
"""

from __future__ import annotations

import time

from rclpy.node import Node
from sensor_msgs.msg import JointState

from feetech.transport import check_port
from sim2real_common.node_runner import run_node
from sim2real_hardware.ros_diagnostics import DiagnosticsPublisher
from sim2real_hardware.ros_params import control_rate, freeze_parameters
from so101.hardware.arm import So101Arm
from so101.hardware.arm_params import arm_parameters
from so101.hardware.leader import Leader


class LeaderNode(Node):
    def __init__(self) -> None:
        super().__init__("leader")
        self.leader: Leader | None = None  # first: destroy_node of a half-built node reads it
        robot, arm_config = arm_parameters(self, "leader", "my_leader", "/dev/ttyACM1")
        check_port(arm_config.port)
        control_hz = control_rate(self, robot.control_hz)
        reconnect_period_s = self.declare_parameter("reconnect_period_s", 2.0).value
        freeze_parameters(self)
        self.leader = Leader(So101Arm(arm_config, robot), reconnect_period_s)
        self.names = robot.joint_names
        self.command_pub = self.create_publisher(JointState, "joint_commands", 10)
        self.diagnostics = DiagnosticsPublisher(self, hardware_id=arm_config.port)
        self.create_timer(1.0 / control_hz, self._on_tick)
        self.get_logger().info(f"leader {arm_config.arm_id!r} on {arm_config.port} at {control_hz:g} Hz -> "
                               f"{self.command_pub.topic_name}, calibration {self.leader.arm.calibration_file}")

    def _on_tick(self) -> None:
        now = time.monotonic()
        command = self.leader.tick(now)
        if command is not None:
            msg = JointState()
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.name = list(self.names)
            msg.position = command.tolist()
            self.command_pub.publish(msg)
        self.diagnostics.publish(self.leader.reports(now))

    def destroy_node(self) -> None:
        try:
            if self.leader is not None:
                self.leader.close()
        finally:
            super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(LeaderNode, args)


if __name__ == "__main__":
    main()
