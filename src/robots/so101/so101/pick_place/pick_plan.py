"""Waypoints of a top-down pick-place, solved from observed block and bowl poses.

Heights are of the ``grasp`` site (between the jaws, 16 mm above the fixed jaw's tip) above the
table, in metres. A grasp puts the block centre ``grasp_depth`` below the site and
``jaw_clearance`` towards the moving jaw, so the open fixed jaw comes down beside the block
rather than on it; closing then slides the block against the fixed jaw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from so101.pick_place.ik import ArmKinematics, top_down_rotation


@dataclass(frozen=True)
class PlanConfig:
    grasp_depth: float = 0.008  # block centre below the site at the grasp (m)
    jaw_clearance: float = 0.006  # block centre offset from the site towards the moving jaw (m)
    approach_height: float = 0.045  # site above its grasp position before descending (m)
    carry_height: float = 0.085  # site height while lifting and carrying (m)
    # Site height when the jaw opens over the bowl (m). The held block's centre stays above the
    # bowl rim (38 mm): a block held still lower inside the bowl counts as settled-but-lifted,
    # which the task monitor ends as a timeout.
    release_height: float = 0.055


class Grasp(NamedTuple):
    yaw: float  # closing-axis yaw (rad)
    pregrasp: np.ndarray  # arm joints above the block
    grasp: np.ndarray  # arm joints around the block
    lift: np.ndarray  # arm joints with the block lifted to the carry height


class Place(NamedTuple):
    carry: np.ndarray  # arm joints above the bowl
    release: np.ndarray  # arm joints lowered into the bowl


def block_yaw(quat_wxyz: np.ndarray) -> float:
    """Yaw of the block face normal closest to horizontal (a cube's yaw is modulo pi/2)."""
    w, x, y, z = np.asarray(quat_wxyz, dtype=float) / np.linalg.norm(quat_wxyz)
    rot = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )
    axis = rot[:, int(np.argmin(np.abs(rot[2])))]
    return float(np.arctan2(axis[1], axis[0]))


def wrap(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


class PickPlacePlanner:
    """Turns observed poses into joint-space waypoints with the arm's IK."""

    def __init__(self, kinematics: ArmKinematics, config: PlanConfig | None = None) -> None:
        self.kin = kinematics
        self.config = config or PlanConfig()

    def azimuth(self, xy: np.ndarray) -> float:
        """Direction of a point seen from the pan axis (rad)."""
        ax, ay = self.kin.pan_axis_xy
        return float(np.arctan2(xy[1] - ay, xy[0] - ax))

    def grasp_yaw(self, block_pos: np.ndarray, block_quat: np.ndarray) -> float:
        """The block's yaw modulo pi/2 nearest the arm's radial direction (wrist roll near 0)."""
        base, radial = block_yaw(block_quat), self.azimuth(block_pos)
        candidates = [base + k * np.pi / 2 for k in range(4)]
        return wrap(min(candidates, key=lambda yaw: abs(wrap(yaw - radial))))

    def grasp(self, block_pos: np.ndarray, block_quat: np.ndarray, seed: np.ndarray) -> Grasp:
        c = self.config
        yaw = self.grasp_yaw(block_pos, block_quat)
        site = block_pos - top_down_rotation(yaw) @ np.array([c.jaw_clearance, 0.0, -c.grasp_depth])
        above = site + np.array([0.0, 0.0, c.approach_height])
        pregrasp = self.kin.solve(above, yaw, seed).q
        grasp = self.kin.solve(site, yaw, pregrasp).q
        lifted = np.array([site[0], site[1], max(c.carry_height, site[2])])
        lift = self.kin.solve(lifted, yaw, pregrasp).q
        return Grasp(yaw, pregrasp, grasp, lift)

    def place(
        self, bowl_pos: np.ndarray, held_offset: np.ndarray, grasp: Grasp, block_pos: np.ndarray
    ) -> Place:
        """Waypoints that bring the held block over the bowl centre.

        ``held_offset`` is the block centre in the gripper frame, measured after the lift.
        The yaw turns with the arm so the wrist roll stays where it was at the grasp.
        """
        c = self.config
        yaw = wrap(grasp.yaw + self.azimuth(bowl_pos) - self.azimuth(block_pos))
        offset = top_down_rotation(yaw) @ held_offset
        carry_site = np.array([bowl_pos[0], bowl_pos[1], c.carry_height]) - offset * [1, 1, 0]
        release_site = carry_site - [0.0, 0.0, c.carry_height - c.release_height]
        carry = self.kin.solve(carry_site, yaw, grasp.lift).q
        return Place(carry, self.kin.solve(release_site, yaw, carry).q)

    def raised(self, q: np.ndarray, height: float) -> np.ndarray:
        """Arm joints with the site moved straight up to ``height`` (never down), same yaw."""
        site, rot = self.kin.site_pose(q)
        yaw = float(np.arctan2(rot[1, 0], rot[0, 0]))
        return self.kin.solve(np.array([site[0], site[1], max(site[2], height)]), yaw, q).q
