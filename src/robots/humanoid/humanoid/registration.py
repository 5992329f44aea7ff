"""The humanoid as the workspace sees it (entry point ``sim2real.robots``: humanoid)."""

from __future__ import annotations

from sim2real_common.registry import Robot, Scene, Task
from humanoid.paths import PACKAGE, data_dir


def robot() -> Robot:
    return Robot(
        name="humanoid",
        package=PACKAGE,
        config_dir=data_dir("config"),
        robot_config="humanoid.yaml",
        scenes=(Scene(name="humanoid_walk", mjcf=data_dir("mjcf") / "scene.xml", task="walk",
                      contract="humanoid_walk"),),
        tasks=(Task(name="walk", build="humanoid.walk.task:WalkTask"),),
    )
