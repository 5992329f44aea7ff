"""Scripted pick-place expert for the SO-101: IK waypoints driven by a small phase machine.

Works from the observation alone (joint positions, block pose, bowl position); the IK runs on a
private kinematic copy of the arm. Each phase plans min-jerk joint-space segments when it
starts and checks the observation when they end:

    APPROACH -> DESCEND -> CLOSE -> LIFT -> CARRY -> LOWER -> RELEASE -> RETREAT -> DONE
    CLOSE, LIFT, CARRY or LOWER -> BACK_OFF -> APPROACH (retry; RETREAT when out of attempts)

The grasp is planned from the observed block pose at the start of APPROACH and again at the
start of DESCEND. A gripper that closes onto its own limit (nothing between the jaws), a block
that did not come up with the gripper, or a block lost on the way all lead to BACK_OFF:
open, rise, and grasp again from wherever the block now is.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np

from so101.pick_place.ik import ARM_JOINTS, ArmKinematics
from sim2real_policy.interface import Feature, Observation
from so101.pick_place.pick_plan import Grasp, PickPlacePlanner, Place, PlanConfig
from sim2real_policy.trajectory import Segment, min_jerk

JOINTS = (*ARM_JOINTS, "gripper")
GRIPPER = len(ARM_JOINTS)


class Phase(str, Enum):
    APPROACH = "approach"
    DESCEND = "descend"
    CLOSE = "close"
    LIFT = "lift"
    CARRY = "carry"
    LOWER = "lower"
    RELEASE = "release"
    RETREAT = "retreat"
    BACK_OFF = "back_off"
    DONE = "done"


@dataclass(frozen=True)
class ExpertConfig:
    scene: str = "so101_pick_place"  # scene whose arm the IK model copies (its task: pick_place)
    plan: PlanConfig = PlanConfig()
    gripper_open: float = 0.9  # jaw opening for approach and descent (rad)
    gripper_release: float = 0.6  # jaw opening over the bowl: wide enough, clear of the rim (rad)
    gripper_closed: float = -0.17  # closing command; the jaw stops on the block near 0.12 (rad)
    empty_grip: float = 0.0  # jaw angle below this after closing: nothing between the jaws (rad)
    fast_step: float = 0.12  # peak joint speed in free space (rad per tick)
    lift_step: float = 0.06  # peak joint speed lifting the block (rad per tick)
    slow_step: float = 0.04  # peak joint speed descending onto the block or into the bowl
    grip_step: float = 0.14  # peak jaw speed opening and closing (rad per tick)
    max_step: float = 0.15  # hard limit on any joint's command change per tick (rad)
    close_settle: int = 5  # ticks to hold after the closing command before judging the grasp
    release_settle: int = 4  # ticks to hold after opening over the bowl
    folded_elbow: float = 1.2  # an elbow beyond this is folded back (rest pose) (rad)
    unfold_wrist: float = -0.3  # wrist flex that clears the upper arm before unfolding (rad)
    lifted_height: float = 0.035  # block centre above this counts as lifted (m)
    hold_tolerance: float = 0.025  # block this close to its place in the gripper is held (m)
    bowl_radius: float = 0.045  # block centre this close to the bowl centre is in the bowl (m)
    max_attempts: int = 4  # grasps tried before giving up

    def __post_init__(self) -> None:
        speeds = {n: getattr(self, n) for n in ("fast_step", "lift_step", "slow_step", "grip_step")}
        for name, speed in speeds.items():
            if not 0 < speed <= self.max_step:
                raise ValueError(f"{name} must be in (0, max_step={self.max_step}], got {speed}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")


class PickPlaceExpert:
    """Scripted pick-place policy implementing ``sim2real_policy.interface.Policy``."""

    input_features = (
        Feature("observation.state", (len(JOINTS),)),
        Feature("observation.environment_state", (10,)),
    )
    output_features = (Feature("action", (len(JOINTS),)),)

    def __init__(self, config: ExpertConfig | None = None) -> None:
        from sim2real_sim.scenes import load_model  # the IK copies the simulated arm

        self.config = config or ExpertConfig()
        model = load_model(self.config.scene)
        self.kin = ArmKinematics(model)
        self.planner = PickPlacePlanner(self.kin, self.config.plan)
        joints = [model.joint(name) for name in JOINTS]
        self.lower = np.array([j.range[0] for j in joints])
        self.upper = np.array([j.range[1] for j in joints])
        home = model.key("home").qpos
        self.home = np.array([home[j.qposadr[0]] for j in joints])
        self.reset()

    # -- Policy interface -------------------------------------------------------------------
    def reset(self) -> None:
        self.phase = Phase.APPROACH
        self.attempts = 0
        self.phase_log: list[Phase] = []
        self._segments: deque[Segment] = deque()
        self._tick = 0
        self._dwell = 0
        self._last: np.ndarray | None = None
        self._grasp: Grasp | None = None
        self._place: Place | None = None
        self._held_offset = np.zeros(3)

    def select_action(self, observation: Observation) -> np.ndarray:
        obs = _Observed.parse(observation)
        if self._last is None:
            self._last = obs.q.copy()
            self._enter(Phase.APPROACH, obs)
        if self.phase in (Phase.CARRY, Phase.LOWER) and not self._holding(obs):
            self._enter(Phase.BACK_OFF, obs)
        while not self._segments and self._dwell == 0 and self.phase is not Phase.DONE:
            self._enter(self._next_phase(obs), obs)
        return self._command(self._advance())

    # -- phases -----------------------------------------------------------------------------
    def _next_phase(self, obs: _Observed) -> Phase:
        """Where to go when the current phase's motion has finished."""
        c = self.config
        if self.phase is Phase.CLOSE:
            return Phase.LIFT if obs.q[GRIPPER] > c.empty_grip else Phase.BACK_OFF
        if self.phase is Phase.LIFT:
            site, _ = self.kin.site_pose(obs.q[:GRIPPER])
            lifted = obs.block_pos[2] > c.lifted_height
            near = np.linalg.norm(obs.block_pos - site) < 2 * c.hold_tolerance
            return Phase.CARRY if lifted and near else Phase.BACK_OFF
        if self.phase is Phase.BACK_OFF:
            in_bowl = np.linalg.norm(obs.block_pos[:2] - obs.bowl_pos[:2]) < c.bowl_radius
            give_up = in_bowl or self.attempts >= c.max_attempts
            return Phase.RETREAT if give_up else Phase.APPROACH
        order = {
            Phase.APPROACH: Phase.DESCEND,
            Phase.DESCEND: Phase.CLOSE,
            Phase.CARRY: Phase.LOWER,
            Phase.LOWER: Phase.RELEASE,
            Phase.RELEASE: Phase.RETREAT,
            Phase.RETREAT: Phase.DONE,
        }
        return order[self.phase]

    def _enter(self, phase: Phase, obs: _Observed) -> None:
        """Switch phase and queue its motion, starting from the last command."""
        self.phase = phase
        self.phase_log.append(phase)
        self._segments.clear()
        self._tick = self._dwell = 0
        plan = {
            Phase.APPROACH: self._plan_approach,
            Phase.DESCEND: self._plan_descend,
            Phase.CLOSE: self._plan_close,
            Phase.LIFT: self._plan_lift,
            Phase.CARRY: self._plan_carry,
            Phase.LOWER: self._plan_lower,
            Phase.RELEASE: self._plan_release,
            Phase.RETREAT: self._plan_retreat,
            Phase.BACK_OFF: self._plan_back_off,
        }.get(phase)
        if plan is not None:
            plan(obs, self._last[:GRIPPER])

    def _plan_approach(self, obs: _Observed, arm: np.ndarray) -> None:
        c = self.config
        self.attempts += 1
        self._grasp = self.planner.grasp(obs.block_pos, obs.block_quat, arm)
        if arm[2] > c.folded_elbow:  # rest pose: swing the wrist off the upper arm first
            via = arm.copy()
            via[[0, 3, 4]] = self._grasp.pregrasp[0], c.unfold_wrist, self._grasp.pregrasp[4]
            self._move(via, c.gripper_open, c.fast_step)
        self._move(self._grasp.pregrasp, c.gripper_open, c.fast_step)

    def _plan_descend(self, obs: _Observed, arm: np.ndarray) -> None:
        self._grasp = self.planner.grasp(obs.block_pos, obs.block_quat, self._grasp.pregrasp)
        self._move(self._grasp.grasp, self.config.gripper_open, self.config.slow_step)

    def _plan_close(self, obs: _Observed, arm: np.ndarray) -> None:
        self._move(arm, self.config.gripper_closed, self.config.grip_step)
        self._dwell = self.config.close_settle

    def _plan_lift(self, obs: _Observed, arm: np.ndarray) -> None:
        self._move(self._grasp.lift, self.config.gripper_closed, self.config.lift_step)

    def _plan_carry(self, obs: _Observed, arm: np.ndarray) -> None:
        site, rot = self.kin.site_pose(obs.q[:GRIPPER])
        self._held_offset = rot.T @ (obs.block_pos - site)  # where the block sits in the jaws
        self._place = self.planner.place(
            obs.bowl_pos, self._held_offset, self._grasp, obs.block_pos
        )
        self._move(self._place.carry, self.config.gripper_closed, self.config.fast_step)

    def _plan_lower(self, obs: _Observed, arm: np.ndarray) -> None:
        self._move(self._place.release, self.config.gripper_closed, self.config.slow_step)

    def _plan_release(self, obs: _Observed, arm: np.ndarray) -> None:
        self._move(arm, self.config.gripper_release, self.config.grip_step)
        self._dwell = self.config.release_settle

    def _plan_retreat(self, obs: _Observed, arm: np.ndarray) -> None:
        c, home = self.config, self.home
        up = self.planner.raised(arm, c.plan.carry_height)
        self._move(up, self._last[GRIPPER], c.slow_step)
        folded = np.array([*home[:3], c.unfold_wrist, home[4]])  # reverse of the unfolding
        self._move(folded, home[GRIPPER], c.fast_step)
        self._move(home[:GRIPPER], home[GRIPPER], c.fast_step)

    def _plan_back_off(self, obs: _Observed, arm: np.ndarray) -> None:
        site, _ = self.kin.site_pose(arm)
        up = self.planner.raised(arm, site[2] + self.config.plan.approach_height)
        self._move(up, self.config.gripper_open, self.config.grip_step)

    # -- motion -----------------------------------------------------------------------------
    def _move(self, arm: np.ndarray, gripper: float, peak_step: float) -> None:
        """Queue a min-jerk segment from the end of the queued motion to ``arm`` + ``gripper``."""
        start = self._segments[-1].goal if self._segments else self._last
        goal = np.clip(np.append(arm, gripper), self.lower, self.upper)
        self._segments.append(min_jerk(start, goal, peak_step=peak_step))

    def _advance(self) -> np.ndarray:
        """The next target of the queued motion, or the held last one while dwelling."""
        if not self._segments:
            self._dwell = max(self._dwell - 1, 0)
            return self._last
        self._tick += 1
        segment = self._segments[0]
        target = segment.at(self._tick)
        if self._tick >= segment.ticks:
            self._segments.popleft()
            self._tick = 0
        return target

    def _command(self, target: np.ndarray) -> np.ndarray:
        """Clip to the joint limits and the per-tick step limit; remember what was sent."""
        step = np.clip(target - self._last, -self.config.max_step, self.config.max_step)
        self._last = np.clip(self._last + step, self.lower, self.upper)
        return self._last.copy()

    def _holding(self, obs: _Observed) -> bool:
        site, rot = self.kin.site_pose(obs.q[:GRIPPER])
        expected = site + rot @ self._held_offset
        return bool(np.linalg.norm(obs.block_pos - expected) < self.config.hold_tolerance)


@dataclass(frozen=True)
class _Observed:
    q: np.ndarray  # joint positions, JOINTS order (rad)
    block_pos: np.ndarray
    block_quat: np.ndarray  # w, x, y, z
    bowl_pos: np.ndarray

    @classmethod
    def parse(cls, observation: Observation) -> _Observed:
        state = np.asarray(observation["observation.state"], dtype=float)
        env = np.asarray(observation["observation.environment_state"], dtype=float)
        if state.shape != (len(JOINTS),) or env.shape != (10,):
            raise ValueError(
                f"expected observation.state {(len(JOINTS),)} and environment_state (10,), "
                f"got {state.shape} and {env.shape}"
            )
        return cls(state, env[:3], env[3:7], env[7:10])


def expert_for_scene(scene: str) -> PickPlaceExpert:
    """The registered expert factory of the pick-place task."""
    return PickPlaceExpert(ExpertConfig(scene=scene))
