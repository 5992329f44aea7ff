"""Humanoid hardware node (name ``board``, namespace ``humanoid``): core's HardwareNode
(``joint_states`` with the positions estimated from the commanded speeds, ``joint_commands`` as
speeds, ``/diagnostics``: device, commands, link and battery) driving the 17 servos on the LSC-24
board (adapter.py says what each fault does). When the node ends it says why (SIGINT, SIGTERM or
shutdown) and stops every servo, then releases them.

Parameters: ``link`` (serial:<port>, hid, auto[:<port>]), ``calibration_file`` ('' = the package's
config/lsc24_calibration.yaml), ``battery_min_v``, ``battery_period_s``, ``robot_config`` ('' =
humanoid.yaml), and core's ``control_hz``, ``watchdog_timeout_s``, ``reconnect_period_s``.
"""

from __future__ import annotations

from humanoid.hardware.adapter import BoardConfig, ChannelMap, HumanoidBoard
from humanoid.paths import data_dir
from sim2real_common.config_files import resolve_config
from sim2real_common.joint_estimate import JointEstimate
from sim2real_common.node_runner import run_node, shutdown_reason
from sim2real_common.robot_config import load_robot_config
from sim2real_hardware.hardware_node import HardwareNode
from sim2real_hardware.ros_params import declare


class HumanoidBoardNode(HardwareNode):
    def __init__(self) -> None:
        super().__init__("board")
        p = declare(self, {
            "robot_config": "",  # '' = humanoid.yaml
            "link": "auto:/dev/ttyUSB0",
            "calibration_file": "",  # '' = config/lsc24_calibration.yaml of this package
            "battery_min_v": 6.4,
            "battery_period_s": 2.0,
        })
        robot_file = resolve_config(p["robot_config"] or "humanoid.yaml")
        robot = load_robot_config(robot_file)
        calibration = p["calibration_file"] or str(data_dir("config") / "lsc24_calibration.yaml")
        config = BoardConfig(link=p["link"], battery_min_v=p["battery_min_v"], battery_period_s=p["battery_period_s"],
                             calibration_file=calibration)
        loop_config = self.loop_parameters(robot.control_hz, device_report="board", command=robot.command)
        self.board = HumanoidBoard(config, robot, ChannelMap.load(robot_file, robot.joint_names))
        self.start(self.board, loop_config, hardware_id=config.link,
                   estimate=JointEstimate(robot, robot.estimated_joints))
        self.get_logger().info(f"humanoid board on {config.link} at {loop_config.control_hz:g} Hz, calibration "
                               f"{config.calibration_file}, stops below {config.battery_min_v:g} V")

    def destroy_node(self) -> None:
        if self.loop is not None and self.loop.connected:
            self.get_logger().info(f"{shutdown_reason()}: stopping every servo, then releasing them")
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(HumanoidBoardNode, args)


if __name__ == "__main__":
    main()
