"""The humanoid MJCF: compiles, matches config/humanoid.yaml, stands still at home with the servos stopped."""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np
import pytest
import yaml

PACKAGE = Path(__file__).resolve().parents[1]
SCENE = PACKAGE / "mjcf" / "scene.xml"
CONFIG = PACKAGE / "config" / "humanoid.yaml"


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


@pytest.fixture(scope="module")
def model() -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_path(str(SCENE))


def _home(model: mujoco.MjModel) -> mujoco.MjData:
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    mujoco.mj_forward(model, data)
    return data


def test_joints_and_actuators_follow_the_config_order(model: mujoco.MjModel, config: dict) -> None:
    names = [j["name"] for j in config["joints"]]
    assert len(names) == 17
    assert model.joint(0).name == "root" and model.jnt_type[0] == mujoco.mjtJoint.mjJNT_FREE
    hinges = [model.joint(i).name for i in range(1, model.njnt)]
    assert hinges == names
    assert all(model.jnt_type[i] == mujoco.mjtJoint.mjJNT_HINGE for i in range(1, model.njnt))
    assert [model.actuator(i).name for i in range(model.nu)] == names
    # each actuator drives the joint of its name
    assert [model.joint(model.actuator_trnid[i, 0]).name for i in range(model.nu)] == names
    for i, joint in enumerate(config["joints"]):
        assert model.jnt_range[i + 1] == pytest.approx([joint["lower"], joint["upper"]])
    assert sorted(config["channels"]) == sorted(names) and sorted(config["signs"]) == sorted(names)
    assert len(set(config["channels"].values())) == 17


def test_actuators_are_symmetric_velocity_servos(model: mujoco.MjModel) -> None:
    for i in range(model.nu):
        kv = model.actuator_gainprm[i, 0]
        assert model.actuator_gaintype[i] == mujoco.mjtGain.mjGAIN_FIXED
        assert model.actuator_biastype[i] == mujoco.mjtBias.mjBIAS_AFFINE
        # a <velocity> actuator: force = kv * ctrl - kv * qdot
        assert kv > 0 and model.actuator_biasprm[i, :3] == pytest.approx([0.0, 0.0, -kv])
        low, high = model.actuator_ctrlrange[i]
        assert model.actuator_ctrllimited[i] and high > 0 and low == -high
        low, high = model.actuator_forcerange[i]
        assert model.actuator_forcelimited[i] and high > 0 and low == -high


def test_home_matches_the_config_and_touches_the_floor(model: mujoco.MjModel, config: dict) -> None:
    data = _home(model)
    assert data.qpos[7:] == pytest.approx(config["home"])
    assert np.all(data.ctrl == 0)
    assert 1.5 <= model.body_subtreemass[model.body("torso").id] <= 2.5
    floor = model.geom("floor").id
    for foot in ("right_foot", "left_foot"):
        geom = model.geom(foot).id
        assert model.geom_bodyid[geom] == model.body(foot).id
        pairs = np.sort(data.contact.geom[: data.ncon], axis=1)
        touching = np.all(pairs == sorted((floor, geom)), axis=1)
        assert touching.any() and np.all(np.abs(data.contact.dist[: data.ncon][touching]) < 1e-3)


def test_stands_for_two_seconds_with_the_servos_stopped(model: mujoco.MjModel) -> None:
    data = _home(model)
    torso = model.body("torso").id
    z0 = data.xpos[torso, 2]
    mujoco.mj_step(model, data, nstep=round(2.0 / model.opt.timestep))
    tilt = np.degrees(np.arccos(np.clip(data.xmat[torso, 8], -1.0, 1.0)))  # torso z-axis vs world z
    assert abs(data.xpos[torso, 2] - z0) < 0.02
    assert tilt < 15.0
    assert not np.any(data.warning.number)


def test_stopped_servos_hold_a_noisy_pose_for_a_whole_episode(model: mujoco.MjModel) -> None:
    """The gearbox holds under gravity: no slow creep into a fall (the walking env's reset noise,
    20 s, 24 seeds stepped together)."""
    import mujoco.batch

    n = 24
    batch = mujoco.batch.Batch(model, n, persistent=True)
    qpos = batch.bind("qpos")
    batch.reset(keyframe=np.full(n, model.key("home").id))
    start = qpos[:].copy()
    start[:, 7:] += np.random.default_rng(0).uniform(-0.02, 0.02, (n, model.nq - 7))
    qpos[:] = start
    batch.step(nstep=round(1.0 / model.opt.timestep))  # the soles settle flat on the floor
    settled = qpos[:].copy()
    batch.step(nstep=round(14.0 / model.opt.timestep))
    late = qpos[:].copy()
    batch.step(nstep=round(5.0 / model.opt.timestep))
    assert np.abs(qpos[:, 2] - settled[:, 2]).max() < 0.002  # torso height, m
    assert np.abs(qpos[:, 7:] - settled[:, 7:]).max() < 0.05  # every joint, rad
    assert np.abs(qpos[:, 7:] - late[:, 7:]).max() < 0.003  # at rest by then: no steady creep


def test_positive_speed_bends_the_right_knee_positively(model: mujoco.MjModel) -> None:
    data = _home(model)
    knee = model.joint("right_knee")
    start = data.qpos[knee.qposadr[0]]
    data.ctrl[model.actuator("right_knee").id] = 2.0
    mujoco.mj_step(model, data, nstep=round(0.2 / model.opt.timestep))
    assert data.qpos[knee.qposadr[0]] > start + 0.05
