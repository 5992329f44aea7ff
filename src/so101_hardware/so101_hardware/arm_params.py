"""ROS parameters shared by the arm nodes (config/so101_hardware.yaml), read once into dataclass configs."""

from __future__ import annotations

from rclpy.node import Node

from so101_common.robot_config import RobotConfig, load_robot_config
from so101_hardware.ros_params import declare
from so101_hardware.so101_arm import ArmConfig


def arm_parameters(node: Node, role: str, default_id: str, default_port: str
                   ) -> tuple[RobotConfig, ArmConfig, float, float]:
    """(robot config, arm config, control_hz, reconnect_period_s) from the node's parameters."""
    p = declare(node, {
        "robot_config": "",  # '' = config/so101.yaml
        "port": default_port,
        "baudrate": 1_000_000,
        "ids": [1, 2, 3, 4, 5, 6],  # servo id per joint, in the robot config's joint order
        "arm_id": default_id,  # LeRobot id: names the calibration file
        "calibration_file": "",  # '' = LeRobot's calibration folder for arm_id
        "control_hz": 0.0,  # 0 = control_hz of the robot config
        "reconnect_period_s": 2.0,
        "packet_timeout_ms": 50.0,  # LeRobot's; more for slow adapters or an emulator on a busy machine
    })
    robot = load_robot_config(p["robot_config"] or "so101.yaml")
    arm = ArmConfig(port=p["port"], role=role, arm_id=p["arm_id"], ids=tuple(p["ids"]), baudrate=p["baudrate"],
                    calibration_file=p["calibration_file"], packet_timeout_ms=p["packet_timeout_ms"])
    control_hz = p["control_hz"] or robot.control_hz
    if control_hz <= 0:
        raise ValueError(f"parameter control_hz: expected > 0, got {control_hz}")
    return robot, arm, control_hz, p["reconnect_period_s"]
