"""Whisker core: chunk rollouts on a copy of the state, and the camera projection checked
against what the renderer draws."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from sim2real_sim.scenes import load_spec
from sim2real_sim.sim import Sim, SimConfig
from sim2real_sim.whiskers import (
    ACTUAL_RGB,
    CURRENT_RGB,
    PAST_RGB,
    WhiskerHistory,
    camera_projection,
    draw_paths,
    predict_path,
    project,
)


@pytest.fixture()
def sim():
    sim = Sim(SimConfig(scene="so101_pick_place"))
    sim.reset(seed=0)
    yield sim
    sim.close()


def _pan_sweep(sim: Sim, n: int = 20, end: float = 1.0) -> np.ndarray:
    chunk = np.tile(sim.data.ctrl, (n, 1))
    chunk[:, sim.joint_names.index("shoulder_pan")] = np.linspace(end / n, end, n)
    return chunk


def test_pan_sweep_circles_the_base_axis(sim):
    path = predict_path(sim.model, sim.data, _pan_sweep(sim), sim.substeps, "grasp")
    assert path.shape == (20, 3)
    pan = sim.model.joint("shoulder_pan").id
    anchor, axis = sim.data.xanchor[pan], sim.data.xaxis[pan]
    rel = path - anchor
    height = rel @ axis
    radial = rel - np.outer(height, axis)
    radius = np.linalg.norm(radial, axis=1)
    assert np.ptp(radius) < 2e-3 and np.ptp(height) < 2e-3  # a circle about the pan axis
    angle = np.unwrap(np.arctan2(radial[:, 1], radial[:, 0]))
    steps = np.diff(angle) * np.sign(angle[-1] - angle[0])
    assert np.all(steps > 0)  # monotonic sweep
    assert 0.7 < abs(angle[-1] - angle[0]) < 1.05
    assert np.linalg.norm(path[-1] - path[0]) > 0.1


def test_rollout_leaves_live_data_untouched_and_matches_executing_the_chunk(sim):
    for _ in range(3):
        sim.step(sim.data.ctrl + 0.05)  # some motion, so velocities and warm-starts are non-trivial
    before = {k: getattr(sim.data, k).copy() for k in ("qpos", "qvel", "ctrl", "qacc_warmstart", "site_xpos")}
    time = sim.data.time
    chunk = _pan_sweep(sim, n=8)
    path = predict_path(sim.model, sim.data, chunk, sim.substeps, "grasp")
    for key, value in before.items():
        assert np.array_equal(getattr(sim.data, key), value), key
    assert sim.data.time == time
    grasp = sim.model.site("grasp").id
    executed = []
    for targets in chunk:
        sim.step(targets)
        mujoco.mj_kinematics(sim.model, sim.data)
        executed.append(sim.data.site_xpos[grasp].copy())
    np.testing.assert_allclose(path, executed, atol=1e-9)


def test_chunk_of_wrong_width_is_rejected(sim):
    with pytest.raises(ValueError, match=r"\(n, 6\)"):
        predict_path(sim.model, sim.data, np.zeros((4, 5)), sim.substeps, "grasp")


@pytest.fixture(scope="module")
def marked_scene():
    """The pick-place scene plus a small mocap sphere (no collisions) to place anywhere."""
    spec = load_spec("so101_pick_place")
    marker = spec.worldbody.add_body(name="marker", mocap=True)
    marker.add_geom(name="marker", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.005, 0, 0],
                    contype=0, conaffinity=0, rgba=[1, 0, 1, 1])
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    mujoco.mj_forward(model, data)
    return model, data


def _rendered_centre(model, data, camera: str, width: int, height: int) -> np.ndarray:
    renderer = mujoco.Renderer(model, height=height, width=width)
    try:
        renderer.enable_segmentation_rendering()
        renderer.update_scene(data, camera=camera)
        seg = renderer.render()
    finally:
        renderer.close()
    geom = model.geom("marker").id
    rows, cols = np.nonzero((seg[..., 0] == geom) & (seg[..., 1] == mujoco.mjtObj.mjOBJ_GEOM))
    assert len(rows) > 20, f"marker not visible in {camera}"
    return np.array([cols.mean(), rows.mean()])


@pytest.mark.parametrize("camera, width, height, offset", [
    ("overhead_cam", 640, 480, (0.08, 0.08, -0.35)),  # camera frame: x right, y up, -z forward
    ("overhead_cam", 640, 480, (-0.1, -0.05, -0.33)),
    ("wrist_cam", 320, 240, (0.03, -0.02, -0.12)),
])
def test_projection_lands_on_the_rendered_pixel(marked_scene, camera, width, height, offset):
    model, data = marked_scene
    cam = model.camera(camera).id
    point = data.cam_xpos[cam] + data.cam_xmat[cam].reshape(3, 3) @ np.array(offset)
    data.mocap_pos[0] = point
    mujoco.mj_forward(model, data)
    pixels, in_front = project(camera_projection(model, data, camera, width, height), point[None])
    assert in_front[0]
    np.testing.assert_allclose(pixels[0], _rendered_centre(model, data, camera, width, height), atol=1.0)


def _line(x: float) -> np.ndarray:
    """A path across the table at world x, seen by the overhead camera as a horizontal line."""
    return np.column_stack([np.full(5, x), np.linspace(-0.1, 0.1, 5), np.zeros(5)])


def test_draw_paths_colours_and_fading(sim):
    projection = camera_projection(sim.model, sim.data, "overhead_cam", 320, 240)
    history = WhiskerHistory(keep=2)
    for x in (0.1, 0.2, 0.25, 0.3):  # the first one falls out of the history
        history.add_prediction(_line(x))
    for point in _line(0.35):
        history.add_position(point)
    paths = history.paths()
    assert len(paths.past) == 2 and paths.actual.shape == (5, 3)
    blank = np.zeros((240, 320, 3), np.uint8)
    out = draw_paths(blank, paths, projection)
    assert not blank.any()  # drawn on a copy

    def colour_at(path: np.ndarray) -> np.ndarray:  # at an inner vertex: full anti-aliasing coverage
        pixels, _ = project(projection, path[2][None])
        col, row = np.round(pixels[0]).astype(int)
        return out[row, col].astype(int)

    def hue(colour) -> np.ndarray:  # anti-aliasing and fading scale a colour, keep its hue
        colour = np.asarray(colour, float)
        return colour / colour.max()

    np.testing.assert_allclose(hue(colour_at(paths.current)), hue(CURRENT_RGB), atol=0.05)
    np.testing.assert_allclose(hue(colour_at(paths.actual)), hue(ACTUAL_RGB), atol=0.05)
    newer, older = colour_at(paths.past[1]), colour_at(paths.past[0])
    np.testing.assert_allclose(hue(newer), hue(PAST_RGB), atol=0.05)
    np.testing.assert_allclose(hue(older), hue(PAST_RGB), atol=0.05)
    assert newer.max() > 1.5 * older.max()  # older predictions fainter
    assert not colour_at(_line(0.1)).any()  # dropped from the history
    history.clear()
    assert history.paths().current is None and len(history.paths().actual) == 0
