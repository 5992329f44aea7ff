"""Every registered scene compiles and steps 1 s without MuJoCo warnings; bad names/files fail clearly."""

import mujoco
import numpy as np
import pytest

from sim2real_common import registry
from sim2real_common.registry import RegistryError, Scene
from sim2real_sim import scenes
from sim2real_sim.errors import ModelFileError
from sim2real_sim.scenes import load_model


@pytest.mark.parametrize("name", sorted(registry.scenes()))
def test_scene_compiles_and_steps_one_second_without_warnings(name):
    model = load_model(name)
    data = mujoco.MjData(model)
    if model.nkey:
        mujoco.mj_resetDataKeyframe(model, data, 0)
    steps = int(round(1.0 / model.opt.timestep))
    mujoco.mj_step(model, data, nstep=steps)
    assert data.time == pytest.approx(1.0, abs=model.opt.timestep)
    assert all(w.number == 0 for w in data.warning), [
        (mujoco.mjtWarning(i).name, w.number) for i, w in enumerate(data.warning) if w.number
    ]
    assert np.all(np.isfinite(data.qpos))


def test_unknown_scene_lists_registered_names():
    with pytest.raises(RegistryError, match="unknown scene 'kitchen'; registered scenes: ") as info:
        load_model("kitchen")
    assert all(name in str(info.value) for name in registry.scenes())


def _register(monkeypatch, spec: Scene) -> None:
    known = scenes.scene
    monkeypatch.setattr(scenes, "scene", lambda name: (None, spec) if name == spec.name else known(name))


def test_missing_model_file_names_the_path(monkeypatch, tmp_path):
    _register(monkeypatch, Scene(name="ghost", mjcf=tmp_path / "ghost.xml", task="t"))
    with pytest.raises(ModelFileError, match="ghost.xml"):
        load_model("ghost")


def test_malformed_model_names_the_file(monkeypatch, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<mujoco><worldbody><body></mujoco>")
    _register(monkeypatch, Scene(name="bad", mjcf=bad, task="t"))
    with pytest.raises(ModelFileError, match="bad.xml"):
        load_model("bad")


def test_missing_mesh_package_is_a_clear_error(monkeypatch, tmp_path):
    good = tmp_path / "box.xml"
    good.write_text("<mujoco><worldbody><geom type='box' size='.1 .1 .1'/></worldbody></mujoco>")
    _register(monkeypatch, Scene(name="nomesh", mjcf=good, task="t", mesh_package="not_a_package_xyz"))
    with pytest.raises(ModelFileError, match="not_a_package_xyz"):
        load_model("nomesh")
