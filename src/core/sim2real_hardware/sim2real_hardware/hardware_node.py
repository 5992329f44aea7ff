"""Base of a robot's hardware node: the sim bridge's topics in front of a RobotLoop, so a graph
swaps sim and real by swapping the node.

- ``joint_states`` (sensor_msgs/JointState) out every tick: position (and velocity, when the robot
  measures it) of the joints that answered, in the robot's joint order; a robot that reads nothing
  back publishes the positions estimated from what it was told (``start(..., estimate=)``, see
  robot_loop.py), which the contract marks estimated;
- ``joint_commands`` (sensor_msgs/JointState) in: positions by joint name, or speeds (the
  ``velocity`` field) for a robot config with ``command: velocity``;
- ``/diagnostics``: the loop's reports (device, commands) and the robot's own;
- parameters ``control_hz`` (0 = the robot config's), ``reconnect_period_s``, ``watchdog_timeout_s``
  (see ``loop_parameters``), read once.

Fails safe: joint_commands silent -> the loop holds; the node destroyed -> ``stop_safe`` then close.
``run_node`` destroys it on shutdown, on SIGINT/SIGTERM (the spin ends) and when a callback raises
(the exception ends the spin): ``stop_safe`` must cope with a device transaction cut short.

A robot's node subclasses it: declare its own parameters, ``loop_parameters``, build the adapter,
``start``; then add what only that robot has (services).
"""

from __future__ import annotations

import time

from rclpy.node import Node
from sensor_msgs.msg import JointState

from sim2real_common.errors import HardwareError
from sim2real_common.joint_estimate import JointEstimate
from sim2real_hardware.robot_interface import RobotInterface
from sim2real_hardware.robot_loop import LoopConfig, RobotLoop
from sim2real_hardware.ros_diagnostics import DiagnosticsPublisher
from sim2real_hardware.ros_params import control_rate, declare, freeze_parameters


class HardwareNode(Node):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.loop: RobotLoop | None = None  # first: destroy_node of a half-built node reads it

    def loop_parameters(self, robot_hz: float, device_report: str, command: str = "position") -> LoopConfig:
        """Declare and read the loop's parameters; ``robot_hz`` and ``command``: the robot config's
        control rate and command interface."""
        control_hz = control_rate(self, robot_hz)
        p = declare(self, {
            "reconnect_period_s": 2.0,  # retry period while the device is missing
            "watchdog_timeout_s": 0.5,  # joint_commands silent this long -> hold
        })
        return LoopConfig(control_hz=control_hz, watchdog_timeout_s=p["watchdog_timeout_s"],
                          reconnect_period_s=p["reconnect_period_s"], device_report=device_report,
                          command=command)

    def start(self, robot: RobotInterface, config: LoopConfig, hardware_id: str,
              estimate: JointEstimate | None = None) -> None:
        """Freeze the parameters (all declared by now), run ``robot`` at ``config.control_hz``;
        ``estimate``: the joints without feedback (``JointEstimate(robot_config, robot_config.estimated_joints)``)."""
        freeze_parameters(self)
        self.loop = RobotLoop(robot, config, estimate)
        self.state_pub = self.create_publisher(JointState, "joint_states", 10)
        self.create_subscription(JointState, "joint_commands", self._on_command, 10)
        self.diagnostics = DiagnosticsPublisher(self, hardware_id=hardware_id)
        self.create_timer(1.0 / config.control_hz, self._on_tick)

    def _on_command(self, msg: JointState) -> None:
        field = self.loop.config.command
        values = getattr(msg, field)
        if len(values) != len(msg.name):
            self.get_logger().error(f"joint_commands: {len(msg.name)} names but {len(values)} {field} values; "
                                    f"ignored", throttle_duration_sec=5.0)
            return
        self.loop.command(dict(zip(msg.name, values)), time.monotonic())

    def _on_tick(self) -> None:
        now = time.monotonic()
        reading = self.loop.tick(now)
        if reading is not None:
            msg = JointState()
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.name = list(reading.position)
            msg.position = list(reading.position.values())
            msg.velocity = [reading.velocity[name] for name in msg.name] if reading.velocity else []
            self.state_pub.publish(msg)
        self.diagnostics.publish(self.loop.reports(now))

    def destroy_node(self) -> None:
        try:
            if self.loop is not None:
                self.loop.close()
        except HardwareError as err:
            self.get_logger().error(f"could not stop the robot safely on shutdown: {err}")
        finally:
            super().destroy_node()
