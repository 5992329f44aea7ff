"""Inverse kinematics of the SO-101 for top-down grasps (damped least squares, MuJoCo Jacobians).

The solver owns a private kinematic copy of the arm (its own MjModel/MjData); it never touches
a simulation's state. A goal is a position of the ``grasp`` site (between the jaws) and a yaw of
the gripper's closing axis, with the fingers pointing straight down. The arm has five joints
before the jaw: pan, and three parallel pitch joints, give position and pitch; wrist roll gives
the yaw. Position comes first: where pointing straight down is out of reach (far and high,
wrist flex at its limit), the wrist tilts rather than miss the position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import mujoco
import numpy as np

ARM_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")


@dataclass(frozen=True)
class IkConfig:
    site: str = "grasp"  # the site driven to the goal
    damping: float = 1e-4  # Levenberg-Marquardt damping of both tasks
    max_iters: int = 150
    position_tolerance: float = 1e-4  # m
    rotation_tolerance: float = 2e-3  # rad
    max_step: float = 0.2  # largest joint change per iteration (rad)


class IkSolution(NamedTuple):
    q: np.ndarray  # arm joint positions, ARM_JOINTS order (rad)
    position_error: float  # m
    tilt: float  # angle between the fingers and straight down (rad)


def top_down_rotation(yaw: float) -> np.ndarray:
    """Gripper frame in world: closing axis (x) at ``yaw``, fingers (-z) pointing down."""
    c, s = np.cos(yaw), np.sin(yaw)  # fingers point along the gripper's -z: z is world up
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


class ArmKinematics:
    """Forward and inverse kinematics of the arm joints on a private MjModel."""

    def __init__(self, model: mujoco.MjModel, config: IkConfig | None = None) -> None:
        self.config = config or IkConfig()
        self.model = model
        self.data = mujoco.MjData(model)
        joints = [model.joint(name) for name in ARM_JOINTS]
        self._qpos = np.array([j.qposadr[0] for j in joints])
        self._dof = np.array([j.dofadr[0] for j in joints])
        self.lower = np.array([j.range[0] for j in joints])
        self.upper = np.array([j.range[1] for j in joints])
        self._site = model.site(self.config.site).id
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))
        mujoco.mj_kinematics(model, self.data)
        self.pan_axis_xy = self.data.xanchor[joints[0].id][:2].copy()  # world xy of the pan axis

    def site_pose(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World position and rotation matrix of the site at arm joints ``q``."""
        self.data.qpos[self._qpos] = q
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)  # cdof, used by the Jacobians
        return (
            self.data.site_xpos[self._site].copy(),
            self.data.site_xmat[self._site].reshape(3, 3).copy(),
        )

    def solve(self, position: np.ndarray, yaw: float, seed: np.ndarray) -> IkSolution:
        """Joint positions putting the site at ``position``, closing axis at ``yaw``, fingers down.

        Position has priority; orientation is solved in the position task's null space. Joints
        resting on a limit and pushed further are frozen for the iteration (active set).
        """
        cfg = self.config
        goal_rot = top_down_rotation(yaw)
        q = np.clip(np.asarray(seed, dtype=float), self.lower, self.upper)
        for _ in range(cfg.max_iters):
            pos, rot = self.site_pose(q)
            pos_err, rot_err = position - pos, _rotation_error(goal_rot, rot)
            if np.linalg.norm(pos_err) < cfg.position_tolerance and (
                np.linalg.norm(rot_err) < cfg.rotation_tolerance
            ):
                break
            mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self._site)
            jacp, jacr = self._jacp[:, self._dof], self._jacr[:, self._dof]
            free = np.ones(len(q), dtype=bool)
            for _ in range(len(q)):
                step = _prioritized_step(jacp * free, pos_err, jacr * free, rot_err, cfg.damping)
                at_lower, at_upper = q <= self.lower + 1e-9, q >= self.upper - 1e-9
                blocked = free & ((at_lower & (step < 0)) | (at_upper & (step > 0)))
                if not blocked.any():
                    break
                free &= ~blocked
            step *= min(1.0, cfg.max_step / max(np.abs(step).max(), 1e-12))
            q = np.clip(q + step, self.lower, self.upper)
        pos, rot = self.site_pose(q)
        tilt = float(np.arccos(np.clip(rot[2, 2], -1.0, 1.0)))
        return IkSolution(q, float(np.linalg.norm(position - pos)), tilt)


def _damped_pinv(jac: np.ndarray, damping: float) -> np.ndarray:
    return jac.T @ np.linalg.inv(jac @ jac.T + damping * np.eye(jac.shape[0]))


def _prioritized_step(
    jacp: np.ndarray, pos_err: np.ndarray, jacr: np.ndarray, rot_err: np.ndarray, damping: float
) -> np.ndarray:
    """Damped least-squares step for the position, then orientation in its null space."""
    step = _damped_pinv(jacp, damping) @ pos_err
    null = np.eye(jacp.shape[1]) - np.linalg.pinv(jacp, rcond=1e-6) @ jacp  # exact projector
    jacr_null = jacr @ null
    return step + null @ _damped_pinv(jacr_null, damping) @ (rot_err - jacr @ step)


def _rotation_error(goal: np.ndarray, current: np.ndarray) -> np.ndarray:
    """World-frame rotation vector taking ``current`` to ``goal`` (small-angle form)."""
    return 0.5 * sum(np.cross(current[:, i], goal[:, i]) for i in range(3))
