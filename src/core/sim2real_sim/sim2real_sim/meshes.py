"""Render-weight meshes: the SO-101 STL files total ~320k triangles, which costs ~50 ms per
frame in software (EGL/llvmpipe) rendering. Each mesh is simplified by vertex clustering on a
millimetre grid (quadric decimators stall on these CAD exports) and cached
(~/.cache/sim2real_sim/meshes), so cameras keep the real arm's silhouette at a fraction of the
cost. Collision uses separate box geoms, so physics is unaffected.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mujoco
import numpy as np

DEFAULT_CELL = 0.002  # m: clustering grid; details finer than this are merged
CACHE_DIR = Path(os.environ.get("SO101_MESH_CACHE", Path.home() / ".cache" / "sim2real_sim" / "meshes"))


def read_binary_stl(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (n, 3) float64 with duplicates merged, faces (m, 3) int64."""
    raw = path.read_bytes()
    count = int(np.frombuffer(raw, dtype="<u4", count=1, offset=80)[0])
    if len(raw) != 84 + 50 * count:
        raise ValueError(f"{path}: not a binary STL ({len(raw)} bytes for {count} triangles)")
    record = np.dtype([("normal", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
    tris = np.frombuffer(raw, dtype=record, count=count, offset=84)["v"].reshape(-1, 3)
    vertices, faces = np.unique(tris, axis=0, return_inverse=True)
    return vertices.astype(np.float64), faces.reshape(-1, 3).astype(np.int64)


def cluster_vertices(vertices: np.ndarray, faces: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices sharing a grid cell (at their mean); drop collapsed and repeated faces."""
    _, cell_of, counts = np.unique(np.floor(vertices / cell).astype(np.int64), axis=0,
                                   return_inverse=True, return_counts=True)
    cell_of = cell_of.ravel()
    merged = np.zeros((counts.size, 3))
    np.add.at(merged, cell_of, vertices)
    merged /= counts[:, None]
    new_faces = cell_of[faces]
    alive = (new_faces[:, 0] != new_faces[:, 1]) & (new_faces[:, 1] != new_faces[:, 2]) & (
        new_faces[:, 0] != new_faces[:, 2])
    new_faces = new_faces[alive]
    _, first = np.unique(np.sort(new_faces, axis=1), axis=0, return_index=True)
    return merged, new_faces[np.sort(first)]


def decimated(path: Path, cell: float = DEFAULT_CELL) -> tuple[np.ndarray, np.ndarray]:
    """Simplified (vertices, faces) of an STL file, cached by content hash and cell size."""
    data = path.read_bytes()
    key = hashlib.sha256(data).hexdigest()[:16]
    cached = CACHE_DIR / f"{path.stem}-{key}-{cell * 1e3:g}mm.npz"
    if cached.is_file():
        with np.load(cached) as npz:
            return npz["vertices"], npz["faces"]
    vertices, faces = cluster_vertices(*read_binary_stl(path), cell)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.npz")
    np.savez(tmp, vertices=vertices, faces=faces)
    tmp.replace(cached)
    return vertices, faces


def use_decimated_meshes(spec: mujoco.MjSpec, cell: float = DEFAULT_CELL) -> None:
    """Replace every file mesh of ``spec`` with its simplified copy (in memory)."""
    for mesh in spec.meshes:
        if not mesh.file:
            continue
        vertices, faces = decimated(Path(mesh.file), cell)
        mesh.file = ""
        mesh.uservert = vertices.astype(np.float32).ravel().tolist()
        mesh.userface = faces.astype(np.int32).ravel().tolist()
