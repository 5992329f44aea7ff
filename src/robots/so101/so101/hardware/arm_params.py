"""ROS parameters of the arm nodes (config/so101_hardware.yaml), read once into dataclass configs.
control_hz, reconnect_period_s and watchdog_timeout_s are core's (sim2real_hardware)."""

from __future__ import annotations

from rclpy.node import Node

from sim2real_common.robot_config import RobotConfig, load_robot_config
from sim2real_hardware.ros_params import declare
from so101.hardware.arm import ArmConfig
from so101.hardware.safety import StallConfig


def arm_parameters(node: Node, role: str, default_id: str, default_port: str) -> tuple[RobotConfig, ArmConfig]:
    """(robot config, arm config) from the node's parameters."""
    p = declare(node, {
        "robot_config": "",  # '' = config/so101.yaml
        "port": default_port,
        "baudrate": 1_000_000,
        "ids": [1, 2, 3, 4, 5, 6],  # servo id per joint, in the robot config's joint order
        "arm_id": default_id,  # LeRobot id: names the calibration file
        "calibration_file": "",  # '' = LeRobot's calibration folder for arm_id
        "packet_timeout_ms": 50.0,  # LeRobot's; more for slow adapters or an emulator on a busy machine
    })
    robot = load_robot_config(p["robot_config"] or "so101.yaml")
    arm = ArmConfig(port=p["port"], role=role, arm_id=p["arm_id"], ids=tuple(p["ids"]), baudrate=p["baudrate"],
                    calibration_file=p["calibration_file"], packet_timeout_ms=p["packet_timeout_ms"])
    return robot, arm


def stall_parameters(node: Node) -> StallConfig:
    """The follower's stall protection (see safety.py)."""
    p = declare(node, {
        "stall_load": [0.6, 0.85, 0.75, 0.6, 0.6, 0.2],  # |Present_Load| fraction per joint
        "stall_current_ma": [2000.0, 2500.0, 2000.0, 2000.0, 2000.0, 1000.0],
        "stall_time_s": 0.5,
        "stall_hold_margin": 0.02,
        "stall_release_s": 1.0,
    })
    return StallConfig(load=tuple(p["stall_load"]), current_ma=tuple(p["stall_current_ma"]),
                       time_s=p["stall_time_s"], hold_margin=p["stall_hold_margin"],
                       release_s=p["stall_release_s"])
