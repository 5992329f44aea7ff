"""Follower arm hardware node (name ``follower``, namespace ``so101``): the same topics as the sim
bridge, so a graph swaps sim and real by swapping the node.

- ``joint_states`` (sensor_msgs/JointState) out at ``control_hz``: position (rad), velocity (rad/s)
  of the joints that answered;
- ``joint_commands`` (sensor_msgs/JointState) in: positions by joint name;
- ``/diagnostics`` (diagnostic_msgs/DiagnosticArray): bus, commands and one status per joint;
- ``~/torque`` (std_srvs/SetBool): true = clear released joints and hold the present pose with
  torque on; false = torque off (limp arm, joint_states keep coming).

Safety behaviour: see arm_control.py. Torque goes off when the node ends (Ctrl-C, launch shutdown).
"""

from __future__ import annotations

import time

from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool

from so101_common.node_runner import run_node
from so101_hardware.arm_control import Follower, FollowerConfig
from so101_hardware.arm_params import arm_parameters
from so101_hardware.ros_params import declare, freeze_parameters
from so101_hardware.errors import HardwareError
from so101_hardware.ros_diagnostics import DiagnosticsPublisher
from so101_hardware.safety import StallConfig
from so101_hardware.so101_arm import So101Arm
from so101_hardware.transport import check_port


class FollowerNode(Node):
    def __init__(self) -> None:
        super().__init__("follower")
        self.follower: Follower | None = None  # first: destroy_node of a half-built node reads it
        robot, arm_config, control_hz, reconnect = arm_parameters(self, "follower", "my_follower", "/dev/ttyACM0")
        check_port(arm_config.port)
        p = declare(self, {
            "watchdog_timeout_s": 0.5,
            "stall_load": [0.6, 0.85, 0.75, 0.6, 0.6, 0.2],  # |Present_Load| fraction per joint
            "stall_current_ma": [2000.0, 2500.0, 2000.0, 2000.0, 2000.0, 1000.0],
            "stall_time_s": 0.5,
            "stall_hold_margin": 0.02,
            "stall_release_s": 1.0,
        })
        freeze_parameters(self)
        stall = StallConfig(load=tuple(p["stall_load"]), current_ma=tuple(p["stall_current_ma"]),
                            time_s=p["stall_time_s"], hold_margin=p["stall_hold_margin"],
                            release_s=p["stall_release_s"])
        self.follower = Follower(So101Arm(arm_config, robot), robot, FollowerConfig(
            control_hz=control_hz, stall=stall, watchdog_timeout_s=p["watchdog_timeout_s"],
            reconnect_period_s=reconnect))
        self.state_pub = self.create_publisher(JointState, "joint_states", 10)
        self.create_subscription(JointState, "joint_commands", self._on_command, 10)
        self.create_service(SetBool, "~/torque", self._on_torque)
        self.diagnostics = DiagnosticsPublisher(self, hardware_id=arm_config.port)
        self.create_timer(1.0 / control_hz, self._on_tick)
        self.get_logger().info(f"follower {arm_config.arm_id!r} on {arm_config.port} at {control_hz:g} Hz, "
                               f"calibration {self.follower.arm.calibration_file}")

    def _on_command(self, msg: JointState) -> None:
        if len(msg.position) != len(msg.name):
            self.get_logger().error(f"joint_commands: {len(msg.name)} names but {len(msg.position)} positions; "
                                    f"ignored", throttle_duration_sec=5.0)
            return
        self.follower.command(list(msg.name), list(msg.position), time.monotonic())

    def _on_tick(self) -> None:
        now = time.monotonic()
        state = self.follower.tick(now)
        if state is not None:
            msg = JointState()
            msg.header.stamp = self.get_clock().now().to_msg()
            read = [k for k, name in enumerate(self.follower.names) if name in state.readings]
            msg.name = [self.follower.names[k] for k in read]
            msg.position = [float(state.position[k]) for k in read]
            msg.velocity = [float(state.velocity[k]) for k in read]
            self.state_pub.publish(msg)
        self.diagnostics.publish(self.follower.reports(now))

    def _on_torque(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        try:
            response.message = self.follower.set_torque(request.data)
            response.success = True
        except HardwareError as err:
            response.success, response.message = False, str(err)
        self.get_logger().info(f"~/torque {request.data}: {response.message}")
        return response

    def destroy_node(self) -> None:
        try:
            if self.follower is not None:
                self.follower.close(torque_off=True)
        except HardwareError as err:
            self.get_logger().error(f"could not switch torque off on shutdown: {err}")
        finally:
            super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(FollowerNode, args)


if __name__ == "__main__":
    main()
