"""Load a registered scene (``sim2real_common.registry``): its MJCF from the robot package, its
visual meshes from the Python package that ships them (robot packages name it; meshes with
their own licence are not copied into the workspace), simplified for speed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mujoco

from sim2real_common.registry import Scene, scene
from sim2real_sim.errors import ModelFileError
from sim2real_sim.meshes import DEFAULT_CELL, use_decimated_meshes


def mesh_dir(spec: Scene) -> Path | None:
    """Folder holding the scene's meshes, found without importing the asset package."""
    if spec.mesh_package is None:
        return None
    found = importlib.util.find_spec(spec.mesh_package)
    if found is None or not found.submodule_search_locations:
        raise ModelFileError(
            f"scene meshes come from the Python package {spec.mesh_package!r}, which is not "
            "installed; run scripts/setup.sh"
        )
    folder = Path(next(iter(found.submodule_search_locations))) / spec.mesh_subdir
    if not folder.is_dir():
        raise ModelFileError(f"mesh folder {folder} is missing from {spec.mesh_package!r}")
    return folder


def load_spec(name: str) -> mujoco.MjSpec:
    """Parse a scene into an editable MjSpec with its mesh folder set."""
    _, spec = scene(name)
    path = spec.mjcf
    if not path.is_file():
        raise ModelFileError(f"model file for scene {name!r} is missing: {path}")
    try:
        mj_spec = mujoco.MjSpec.from_file(str(path))
    except ValueError as err:
        raise ModelFileError(f"{path}: {err}") from err
    folder = mesh_dir(spec)
    if folder is not None:
        # Files of included MJCF are prefixed with the include's folder at parse time;
        # point every mesh at the asset package instead.
        for mesh in mj_spec.meshes:
            mesh.file = str(folder / Path(mesh.file).name)
    return mj_spec


def load_model(name: str, mesh_cell: float | None = DEFAULT_CELL) -> mujoco.MjModel:
    """Compile a scene by name; visual meshes simplified on a ``mesh_cell`` grid (None = full)."""
    mj_spec = load_spec(name)
    if mesh_cell is not None:
        use_decimated_meshes(mj_spec, mesh_cell)
    try:
        return mj_spec.compile()
    except ValueError as err:
        raise ModelFileError(f"scene {name!r} ({scene(name)[1].mjcf}): {err}") from err
