"""Node parameters: declared once with their defaults, then frozen."""

from __future__ import annotations

from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter


def declare(node: Node, defaults: dict[str, object]) -> dict[str, object]:
    return {key: node.declare_parameter(key, value).value for key, value in defaults.items()}


def freeze_parameters(node: Node) -> None:
    """Parameters are read once at start-up: refuse live updates instead of silently ignoring them."""

    def refuse(params: list[Parameter]) -> SetParametersResult:
        names = ", ".join(p.name for p in params)
        return SetParametersResult(successful=False, reason=f"{names}: read at start-up; restart the node to change")

    node.add_on_set_parameters_callback(refuse)


def control_rate(node: Node, robot_hz: float) -> float:
    """The ``control_hz`` parameter: 0 = ``robot_hz`` (the robot config's); checked > 0."""
    control_hz = node.declare_parameter("control_hz", 0.0).value or robot_hz
    if not control_hz > 0:
        raise ValueError(f"parameter control_hz: expected > 0, got {control_hz}")
    return control_hz
