"""The toy arm as the workspace sees it (entry point ``sim2real.robots``: toy_arm)."""

from __future__ import annotations

from pathlib import Path

from sim2real_common.registry import Robot, Scene, Task

PACKAGE = "toy_arm"


def share_dir() -> Path:
    """The installed ``share/toy_arm`` (config/, launch/, mjcf/)."""
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory(PACKAGE))


def robot() -> Robot:
    share = share_dir()
    return Robot(
        name="toy_arm",
        package=PACKAGE,
        config_dir=share / "config",
        robot_config="toy_arm.yaml",
        scenes=(Scene(name="toy_reach", mjcf=share / "mjcf" / "toy_reach.xml", task="reach", contract="toy_reach"),),
        tasks=(Task(name="reach", build="toy_arm.task:ReachTask", expert="toy_arm.expert:expert_for_scene"),),
    )
