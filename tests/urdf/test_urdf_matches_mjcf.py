"""The URDF (urdf/so101.urdf.xacro) and the MuJoCo arm (robot.xml) describe the same robot.

Checked against the compiled MJCF: joint names/order, axes, limits, forward kinematics (link
frames, joint anchors and axes, grasp point), inertials, visual mesh placement and collision
boxes; plus the ros2_control block against config/so101.yaml.

The URDF `base` frame is not the MJCF `base` body frame. docs/robot-models.md says the MJCF base
is the URDF `baseframe` rotated about z; test_base_transform_matches_facts fits the transform
from data and checks it against that statement before the other tests use it.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco
import numpy as np
import pytest
import yourdfpy

from sim2real_common.robot_config import RobotConfig, load_robot_config
from so101 import description
from sim2real_sim.errors import ModelFileError
from sim2real_sim.scenes import load_model, load_spec

SCENE = "so101_pick_place"
ARM_BODIES = ("base", "shoulder", "upper_arm", "lower_arm", "wrist", "gripper", "moving_jaw")
MOVING_BODIES = ARM_BODIES[1:]  # same frame as the URDF link of the same name; `base` is not
N_CONFIGS = 20
POS_TOL = 1e-3  # m: FK agreement asked for
ROT_TOL = 1e-3  # rad
GEOM_TOL = 1e-5  # m: numbers copied from the MJCF should agree to their printed precision
LIMIT_TOL = 1e-4  # rad


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    t = np.eye(4)
    t[:2, :2] = [[c, -s], [s, c]]
    return t


def rotation_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (rad) of the rotation taking 3x3 rotation a to b."""
    cos = (np.trace(a.T @ b) - 1.0) / 2.0
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rigid (R, t) minimising |R src + t - dst| over matched rows."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    u, _, vt = np.linalg.svd((src - cs).T @ (dst - cd))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rot, cd - rot @ cs


def load_urdf(xml: str) -> yourdfpy.URDF:
    return yourdfpy.URDF.load(io.BytesIO(xml.encode()), load_meshes=False)


class Mjcf:
    """The compiled scene, with poses read relative to the arm's `base` body."""

    def __init__(self) -> None:
        self.model = load_model(SCENE)
        self.data = mujoco.MjData(self.model)
        self.base_id = self.model.body("base").id
        arm = [j for j in range(self.model.njnt)
               if self.model.body_rootid[self.model.jnt_bodyid[j]] == self.model.body_rootid[self.base_id]]
        self.joints = [j for j in arm if self.model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE]
        self.joint_names = [self.model.joint(j).name for j in self.joints]

    def set_q(self, q: dict[str, float]) -> None:
        mujoco.mj_resetData(self.model, self.data)
        for name, value in q.items():
            self.data.qpos[self.model.joint(name).qposadr[0]] = value
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)

    def pose_in_base(self, pos: np.ndarray, mat: np.ndarray | None = None) -> np.ndarray:
        """A world point (and rotation) as a 4x4 pose in the MJCF base-body frame."""
        base = self.data.body(self.base_id)
        rb = base.xmat.reshape(3, 3)
        t = np.eye(4)
        t[:3, 3] = rb.T @ (pos - base.xpos)
        t[:3, :3] = rb.T @ (np.eye(3) if mat is None else mat.reshape(3, 3))
        return t

    def body_pose(self, name: str) -> np.ndarray:
        body = self.data.body(name)
        return self.pose_in_base(body.xpos, body.xmat)

    def site_pos(self, name: str) -> np.ndarray:
        return self.pose_in_base(self.data.site(name).xpos)[:3, 3]

    def anchor(self, joint: str) -> tuple[np.ndarray, np.ndarray]:
        """Joint anchor point and axis direction in the base-body frame."""
        j = self.model.joint(joint).id
        pose = self.pose_in_base(self.data.xanchor[j])
        rb = self.data.body(self.base_id).xmat.reshape(3, 3)
        return pose[:3, 3], rb.T @ self.data.xaxis[j]

    def geom_pose(self, geom: int) -> np.ndarray:
        return self.pose_in_base(self.data.geom_xpos[geom], self.data.geom_xmat[geom])

    def mesh_poses(self, body: str) -> dict[str, np.ndarray]:
        """Declared pose of each visual mesh of a body (compiled mesh geoms are re-centred)."""
        poses = {}
        geoms = [g for g in load_spec(SCENE).body(body).geoms if g.type == mujoco.mjtGeom.mjGEOM_MESH]
        assert len({g.meshname for g in geoms}) == len(geoms), f"{body}: a mesh used twice"
        for geom in geoms:
            local = np.eye(4)
            mat = np.zeros(9)
            mujoco.mju_quat2Mat(mat, geom.quat / np.linalg.norm(geom.quat))
            local[:3, :3], local[:3, 3] = mat.reshape(3, 3), geom.pos
            poses[geom.meshname] = self.body_pose(body) @ local
        return poses


@pytest.fixture(scope="module")
def mjcf() -> Mjcf:
    return Mjcf()


@pytest.fixture(scope="module")
def config() -> RobotConfig:
    return load_robot_config("so101.yaml")


@pytest.fixture(scope="module")
def mesh_dir() -> Path:
    return description.default_mesh_dir()


VARIANTS = [(True, False), (True, True), (False, False), (False, True)]  # (use_sim, meshes)


@pytest.fixture(scope="module", params=VARIANTS, ids=lambda v: f"use_sim={v[0]}-meshes={v[1]}")
def variant(request: pytest.FixtureRequest, mesh_dir: Path) -> tuple[str, yourdfpy.URDF, bool]:
    use_sim, meshes = request.param
    xml = description.urdf_xml(use_sim=use_sim, mesh_dir=str(mesh_dir) if meshes else None)
    return xml, load_urdf(xml), meshes


@pytest.fixture(scope="module")
def urdf(variant: tuple[str, yourdfpy.URDF, bool]) -> yourdfpy.URDF:
    return variant[1]


def chain_joints(robot: yourdfpy.URDF) -> list[str]:
    """Revolute joints in depth-first order from the root link."""
    order: list[str] = []

    def walk(link: str) -> None:
        for joint in robot.robot.joints:
            if joint.parent == link:
                if joint.type == "revolute":
                    order.append(joint.name)
                walk(joint.child)

    walk(robot.base_link)
    return order


def urdf_to_mjcf_base(robot: yourdfpy.URDF) -> np.ndarray:
    """Pose of the MJCF base body in the URDF base: `baseframe` rotated -90 deg about z."""
    return robot.get_transform("baseframe", "base") @ rot_z(-np.pi / 2)


def random_configs(mjcf: Mjcf, n: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    ranges = mjcf.model.jnt_range[mjcf.joints]
    return [dict(zip(mjcf.joint_names, rng.uniform(ranges[:, 0], ranges[:, 1]))) for _ in range(n)]


# --- names, axes, limits ------------------------------------------------------------------------


def test_joint_names_and_order(urdf: yourdfpy.URDF, mjcf: Mjcf, config: RobotConfig) -> None:
    assert urdf.base_link == "base"
    assert chain_joints(urdf) == mjcf.joint_names == config.joint_names
    assert list(urdf.actuated_joint_names) == mjcf.joint_names


def test_axes_are_child_z(urdf: yourdfpy.URDF, mjcf: Mjcf) -> None:
    for name in mjcf.joint_names:
        np.testing.assert_allclose(urdf.joint_map[name].axis, [0, 0, 1], err_msg=name)
        np.testing.assert_allclose(mjcf.model.joint(name).axis, [0, 0, 1], err_msg=name)


def test_limits_match_mjcf(urdf: yourdfpy.URDF, mjcf: Mjcf, config: RobotConfig) -> None:
    for joint, spec in zip(mjcf.joints, config.joints):
        name = mjcf.model.joint(joint).name
        limit = urdf.joint_map[name].limit
        lower, upper = mjcf.model.jnt_range[joint]
        assert limit.lower == pytest.approx(lower, abs=LIMIT_TOL), name
        assert limit.upper == pytest.approx(upper, abs=LIMIT_TOL), name
        assert (limit.lower, limit.upper) == pytest.approx((spec.lower, spec.upper), abs=LIMIT_TOL)
        actuator = mjcf.model.actuator(name)
        assert limit.effort == pytest.approx(actuator.forcerange[1]), name
        assert limit.velocity == pytest.approx(4.7, abs=0.1), name


# --- kinematics ---------------------------------------------------------------------------------


def test_base_transform_matches_facts(urdf: yourdfpy.URDF, mjcf: Mjcf) -> None:
    """Fit URDF-base <- MJCF-base from joint anchors over random poses; compare with the facts."""
    src, dst = [], []
    for q in random_configs(mjcf, N_CONFIGS, seed=1):
        mjcf.set_q(q)
        urdf.update_cfg(q)
        for name in mjcf.joint_names:
            src.append(mjcf.anchor(name)[0])
            dst.append(urdf.get_transform(urdf.joint_map[name].child, "base")[:3, 3])
        src.append(mjcf.site_pos("grasp"))
        dst.append(urdf.get_transform("grasp", "base")[:3, 3])
    src, dst = np.array(src), np.array(dst)
    rot, trans = kabsch(src, dst)
    facts = urdf_to_mjcf_base(urdf)
    assert rotation_angle(rot, facts[:3, :3]) < ROT_TOL
    np.testing.assert_allclose(trans, facts[:3, 3], atol=GEOM_TOL * 10)
    np.testing.assert_allclose(facts[:3, 3], [0.020791, 0.0157608, 0.0324817], atol=1e-7)
    residual = np.linalg.norm(src @ rot.T + trans - dst, axis=1).max()
    assert residual < POS_TOL


def test_forward_kinematics_match(urdf: yourdfpy.URDF, mjcf: Mjcf) -> None:
    t_um = urdf_to_mjcf_base(urdf)
    for q in random_configs(mjcf, N_CONFIGS):
        mjcf.set_q(q)
        urdf.update_cfg(q)
        for body in MOVING_BODIES:
            want = t_um @ mjcf.body_pose(body)
            got = urdf.get_transform(body, "base")
            assert np.linalg.norm(got[:3, 3] - want[:3, 3]) < POS_TOL, (body, q)
            assert rotation_angle(got[:3, :3], want[:3, :3]) < ROT_TOL, (body, q)
        for name in mjcf.joint_names:
            anchor, axis = mjcf.anchor(name)
            frame = urdf.get_transform(urdf.joint_map[name].child, "base")
            got_axis = frame[:3, :3] @ urdf.joint_map[name].axis
            assert np.linalg.norm(frame[:3, 3] - (t_um[:3, :3] @ anchor + t_um[:3, 3])) < POS_TOL, name
            assert np.dot(got_axis, t_um[:3, :3] @ axis) > np.cos(ROT_TOL), name
        grasp = t_um[:3, :3] @ mjcf.site_pos("grasp") + t_um[:3, 3]
        assert np.linalg.norm(urdf.get_transform("grasp", "base")[:3, 3] - grasp) < POS_TOL, q


def test_fixed_frames_present(urdf: yourdfpy.URDF) -> None:
    for frame, parent in (("baseframe", "base"), ("gripperframe", "gripper"), ("grasp", "gripper")):
        joint = next(j for j in urdf.robot.joints if j.child == frame)
        assert (joint.type, joint.parent) == ("fixed", parent)


# --- inertia and geometry -----------------------------------------------------------------------


def test_inertials_match(urdf: yourdfpy.URDF, mjcf: Mjcf) -> None:
    mjcf.set_q({})
    urdf.update_cfg({name: 0.0 for name in mjcf.joint_names})
    t_um = urdf_to_mjcf_base(urdf)
    for body in ARM_BODIES:
        inertial = urdf.link_map[body].inertial
        b = mjcf.model.body(body)
        assert inertial.mass == pytest.approx(b.mass[0], rel=1e-6), body
        pose = urdf.get_transform(body, "base") @ inertial.origin
        want = t_um @ mjcf.pose_in_base(mjcf.data.xipos[b.id], mjcf.data.ximat[b.id])
        np.testing.assert_allclose(pose[:3, 3], want[:3, 3], atol=GEOM_TOL, err_msg=body)
        got_i = pose[:3, :3] @ inertial.inertia @ pose[:3, :3].T
        want_i = want[:3, :3] @ np.diag(b.inertia) @ want[:3, :3].T
        np.testing.assert_allclose(got_i, want_i, atol=1e-9, err_msg=body)


def _box_corners(pose: np.ndarray, half: np.ndarray) -> np.ndarray:
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    return (signs * half) @ pose[:3, :3].T + pose[:3, 3]


def _same_corners(a: np.ndarray, b: np.ndarray) -> bool:
    dist = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    return bool(dist.min(axis=1).max() < GEOM_TOL and dist.min(axis=0).max() < GEOM_TOL)


def _mjcf_geoms(mjcf: Mjcf, body: str) -> list[int]:
    return [g for g in range(mjcf.model.ngeom) if mjcf.model.geom_bodyid[g] == mjcf.model.body(body).id]


def test_collision_boxes_match(urdf: yourdfpy.URDF, mjcf: Mjcf) -> None:
    mjcf.set_q({})
    urdf.update_cfg({name: 0.0 for name in mjcf.joint_names})
    t_um = urdf_to_mjcf_base(urdf)
    for body in ARM_BODIES:
        want = [_box_corners(t_um @ mjcf.geom_pose(g), mjcf.model.geom_size[g])
                for g in _mjcf_geoms(mjcf, body)
                if mjcf.model.geom_group[g] == 3 and mjcf.model.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX]
        link = urdf.get_transform(body, "base")
        got = [_box_corners(link @ c.origin, np.asarray(c.geometry.box.size) / 2)
               for c in urdf.link_map[body].collisions]
        assert len(got) == len(want) > 0, body
        for corners in got:
            assert any(_same_corners(corners, w) for w in want), body


def test_visuals(variant: tuple[str, yourdfpy.URDF, bool], mjcf: Mjcf, mesh_dir: Path) -> None:
    """With mesh_dir: every MJCF visual mesh, same pose; without: boxes equal to the collisions."""
    _, urdf, meshes = variant
    mjcf.set_q({})
    urdf.update_cfg({name: 0.0 for name in mjcf.joint_names})
    t_um = urdf_to_mjcf_base(urdf)
    for body in ARM_BODIES:
        link = urdf.link_map[body]
        if not meshes:
            assert all(v.geometry.mesh is None and v.geometry.box is not None for v in link.visuals)
            assert [v.origin.tolist() for v in link.visuals] == [c.origin.tolist() for c in link.collisions]
            continue
        want = {mesh: t_um @ pose for mesh, pose in mjcf.mesh_poses(body).items()}
        got = {}
        for v in link.visuals:
            assert v.geometry.mesh is not None, body
            filename = v.geometry.mesh.filename
            assert filename.startswith(f"file://{mesh_dir}/"), filename
            assert Path(filename.removeprefix("file://")).is_file(), filename
            got[Path(filename).stem] = urdf.get_transform(body, "base") @ v.origin
        assert sorted(got) == sorted(want), body
        for mesh, pose in got.items():
            np.testing.assert_allclose(pose[:3, 3], want[mesh][:3, 3], atol=GEOM_TOL, err_msg=mesh)
            assert rotation_angle(pose[:3, :3], want[mesh][:3, :3]) < ROT_TOL / 10, (body, mesh)


# --- ros2_control -------------------------------------------------------------------------------


def _ros2_control(xml: str) -> ET.Element:
    blocks = ET.fromstring(xml.encode()).findall("ros2_control")
    assert len(blocks) == 1
    return blocks[0]


def test_ros2_control_block(variant: tuple[str, yourdfpy.URDF, bool], config: RobotConfig) -> None:
    xml = variant[0]
    block = _ros2_control(xml)
    assert (block.get("name"), block.get("type")) == ("so101", "system")
    hardware = block.find("hardware")
    assert hardware.findtext("plugin") == "topic_based_ros2_control/TopicBasedSystem"
    params = {p.get("name"): p.text for p in hardware.findall("param")}
    assert params == {
        "joint_commands_topic": "/so101/joint_commands",
        "joint_states_topic": "/so101/joint_states",
    }
    joints = block.findall("joint")
    assert [j.get("name") for j in joints] == config.joint_names
    for joint, home in zip(joints, config.home):
        assert [c.get("name") for c in joint.findall("command_interface")] == ["position"]
        states = {s.get("name"): s for s in joint.findall("state_interface")}
        assert sorted(states) == ["position", "velocity"]
        assert float(states["position"].findtext("param[@name='initial_value']")) == pytest.approx(home)


def test_use_sim_switch_documents_the_other_end() -> None:
    sim, real = description.urdf_xml(use_sim=True), description.urdf_xml(use_sim=False)
    assert "sim_name: MuJoCo bridge" in sim and "sim_name: MuJoCo bridge" not in real
    assert "Feetech hardware node publishes" in real and "Feetech hardware node publishes" not in sim


def test_prefix_applies_to_every_name(config: RobotConfig) -> None:
    xml = description.urdf_xml(prefix="left_")
    robot = load_urdf(xml)
    assert robot.base_link == "left_base"
    assert all(name.startswith("left_") for name in robot.link_map)
    assert all(name.startswith("left_") for name in robot.joint_map)
    assert chain_joints(robot) == [f"left_{n}" for n in config.joint_names]
    assert [j.get("name") for j in _ros2_control(xml).findall("joint")] == [
        f"left_{n}" for n in config.joint_names
    ]


# --- locating the xacro -------------------------------------------------------------------------


def test_found_in_the_robot_package() -> None:
    path = description.urdf_path()
    assert path.name == "so101.urdf.xacro" and path.is_file() and path.parent.name == "urdf"
    assert load_urdf(description.urdf_xml()).base_link == "base"


def test_missing_urdf_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(description, "data_dir", lambda name: tmp_path / name)
    with pytest.raises(ModelFileError, match=str(tmp_path / "urdf" / "so101.urdf.xacro")):
        description.urdf_xml()
