"""Status reports of the hardware loops (ROS-free; ros_diagnostics.py turns them into /diagnostics)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Level(IntEnum):
    """diagnostic_msgs/DiagnosticStatus levels."""

    OK = 0
    WARN = 1
    ERROR = 2


@dataclass(frozen=True)
class Report:
    name: str
    level: Level
    message: str
    values: dict[str, str] = field(default_factory=dict)
