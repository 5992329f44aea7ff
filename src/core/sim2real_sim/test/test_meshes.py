"""Render-weight meshes: STL parsing, clustering keeps the shape, cache round trip."""

import struct

import numpy as np
import pytest

from sim2real_sim import meshes
from sim2real_sim.scenes import load_model


def _write_stl(path, triangles):
    with open(path, "wb") as f:
        f.write(b"\0" * 80 + struct.pack("<I", len(triangles)))
        for tri in triangles:
            f.write(struct.pack("<3f", 0, 0, 0) + struct.pack("<9f", *np.ravel(tri)) + b"\0\0")


def test_binary_stl_round_trip_merges_shared_vertices(tmp_path):
    quad = [[[0, 0, 0], [1, 0, 0], [1, 1, 0]], [[0, 0, 0], [1, 1, 0], [0, 1, 0]]]
    _write_stl(tmp_path / "q.stl", quad)
    vertices, faces = meshes.read_binary_stl(tmp_path / "q.stl")
    assert vertices.shape == (4, 3) and faces.shape == (2, 3)
    assert np.allclose(vertices[faces], np.array(quad))


def test_truncated_stl_is_rejected(tmp_path):
    (tmp_path / "bad.stl").write_bytes(b"\0" * 80 + struct.pack("<I", 5) + b"\0" * 10)
    with pytest.raises(ValueError, match="not a binary STL"):
        meshes.read_binary_stl(tmp_path / "bad.stl")


def test_clustering_reduces_faces_and_keeps_the_bounds():
    model = load_model("so101_pick_place", mesh_cell=None)
    full = load_model("so101_pick_place")
    assert full.mesh_facenum.sum() < 0.2 * model.mesh_facenum.sum()
    for i in range(model.nmesh):
        a = model.mesh_vert[model.mesh_vertadr[i]: model.mesh_vertadr[i] + model.mesh_vertnum[i]]
        b = full.mesh_vert[full.mesh_vertadr[i]: full.mesh_vertadr[i] + full.mesh_vertnum[i]]
        assert np.allclose(a.min(0), b.min(0), atol=0.003) and np.allclose(a.max(0), b.max(0), atol=0.003)


def test_cache_is_reused(tmp_path, monkeypatch):
    monkeypatch.setattr(meshes, "CACHE_DIR", tmp_path)
    cube = [[[0, 0, 0], [0.01, 0, 0], [0, 0.01, 0]]]
    _write_stl(tmp_path / "t.stl", cube)
    first = meshes.decimated(tmp_path / "t.stl", cell=0.001)
    assert len(list(tmp_path.glob("t-*.npz"))) == 1
    second = meshes.decimated(tmp_path / "t.stl", cell=0.001)
    assert np.array_equal(first[1], second[1])
