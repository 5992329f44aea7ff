"""Follower arm hardware node (name ``follower``, namespace ``so101``): core's HardwareNode
(``joint_states``, ``joint_commands``, ``/diagnostics``: bus, commands and one status per joint;
watchdog, reconnect, torque off when the node ends) driving the SO-101 follower (arm_control.py),
plus

- ``~/torque`` (std_srvs/SetBool): true = clear released joints and hold the present pose with
  torque on; false = torque off (limp arm, joint_states keep coming).

Safety behaviour: see arm_control.py.
"""

from __future__ import annotations

from std_srvs.srv import SetBool

from feetech.transport import check_port
from sim2real_common.errors import HardwareError
from sim2real_common.node_runner import run_node
from sim2real_hardware.hardware_node import HardwareNode
from so101.hardware.arm import So101Arm
from so101.hardware.arm_control import Follower, FollowerConfig
from so101.hardware.arm_params import arm_parameters, stall_parameters


class FollowerNode(HardwareNode):
    def __init__(self) -> None:
        super().__init__("follower")
        robot, arm_config = arm_parameters(self, "follower", "my_follower", "/dev/ttyACM0")
        check_port(arm_config.port)
        loop_config = self.loop_parameters(robot.control_hz, device_report="bus")
        self.follower = Follower(So101Arm(arm_config, robot),
                                 FollowerConfig(control_hz=loop_config.control_hz, stall=stall_parameters(self)))
        self.start(self.follower, loop_config, hardware_id=arm_config.port)
        self.create_service(SetBool, "~/torque", self._on_torque)
        self.get_logger().info(f"follower {arm_config.arm_id!r} on {arm_config.port} at {loop_config.control_hz:g} "
                               f"Hz, calibration {self.follower.arm.calibration_file}")

    def _on_torque(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        try:
            response.message = self.loop.operate(lambda: self.follower.set_torque(request.data))
            response.success = True
        except HardwareError as err:
            response.success, response.message = False, str(err)
        self.get_logger().info(f"~/torque {request.data}: {response.message}")
        return response


def main(args: list[str] | None = None) -> None:
    run_node(FollowerNode, args)


if __name__ == "__main__":
    main()
