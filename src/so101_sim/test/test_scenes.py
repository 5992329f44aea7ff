"""Every scene compiles and steps 1 s without MuJoCo warnings; bad names/files fail clearly."""

import mujoco
import numpy as np
import pytest

from so101_sim import scenes
from so101_sim.errors import ModelFileError, UnknownSceneError
from so101_sim.scenes import SceneSpec, load_model, scene_names


@pytest.mark.parametrize("name", scene_names())
def test_scene_compiles_and_steps_one_second_without_warnings(name):
    model = load_model(name)
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    steps = int(round(1.0 / model.opt.timestep))
    mujoco.mj_step(model, data, nstep=steps)
    assert data.time == pytest.approx(1.0, abs=model.opt.timestep)
    assert all(w.number == 0 for w in data.warning), [
        (mujoco.mjtWarning(i).name, w.number) for i, w in enumerate(data.warning) if w.number
    ]
    assert np.all(np.isfinite(data.qpos))


def test_so101_has_visual_and_collision_groups_and_home_keyframe():
    model = load_model("so101_pick_place")
    groups = set(model.geom_group[model.geom_bodyid == model.body("gripper").id])
    assert {2, 3} <= groups  # meshes for cameras, boxes for contacts
    visual = model.geom_group == 2
    assert np.all(model.geom_contype[visual] == 0) and np.all(model.geom_conaffinity[visual] == 0)
    assert model.key("home").id >= 0
    assert model.nmesh == 13


def test_unknown_scene_lists_accepted_names():
    with pytest.raises(UnknownSceneError, match="so101_pick_place") as info:
        load_model("kitchen")
    assert "kitchen" in str(info.value)


def test_missing_model_file_names_the_path(monkeypatch):
    monkeypatch.setitem(scenes.SCENES, "ghost", SceneSpec(mjcf="so101/ghost.xml", task="pick_place"))
    with pytest.raises(ModelFileError, match="ghost.xml"):
        load_model("ghost")


def test_malformed_model_names_the_file(monkeypatch, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<mujoco><worldbody><body></mujoco>")
    monkeypatch.setattr(scenes, "MODELS_DIR", tmp_path)
    monkeypatch.setitem(scenes.SCENES, "bad", SceneSpec(mjcf="bad.xml", task="pick_place"))
    with pytest.raises(ModelFileError, match="bad.xml"):
        load_model("bad")


def test_missing_mesh_package_is_a_clear_error(monkeypatch):
    spec = SceneSpec(mjcf="so101/pick_place.xml", task="pick_place", mesh_package="not_a_package_xyz")
    monkeypatch.setitem(scenes.SCENES, "nomesh", spec)
    with pytest.raises(ModelFileError, match="not_a_package_xyz"):
        load_model("nomesh")
