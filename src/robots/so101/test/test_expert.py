"""Scripted pick-place expert against the sim core (no ROS): success, limits, determinism, retry."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from so101.pick_place.expert import Phase, PickPlaceExpert
from sim2real_policy.interface import Policy
from sim2real_sim.sim import Sim, SimConfig
from so101.pick_place.monitor import EpisodeStatus, Outcome

MAX_STEP = 0.15  # rad per 30 Hz tick, what a real SO-101 servo can follow


@pytest.fixture(scope="module")
def sim():
    s = Sim(SimConfig(scene="so101_pick_place"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def expert():
    return PickPlaceExpert()


def observe(sim: Sim) -> dict[str, np.ndarray]:
    return sim.observation()


def run_episode(
    sim: Sim, expert: PickPlaceExpert, seed: int, on_tick: Callable[[], None] | None = None
) -> tuple[EpisodeStatus, np.ndarray, np.ndarray]:
    """One episode; returns the final status, the joint state at reset and every action sent."""
    status = sim.reset(seed)
    expert.reset()
    start, actions = sim.joint_positions(), []
    while not status.done:
        actions.append(expert.select_action(observe(sim)))
        if on_tick is not None:
            on_tick()
        status = sim.step(actions[-1])
    return status, start, np.array(actions)


def test_expert_implements_the_policy_interface(expert):
    assert isinstance(expert, Policy)
    assert [f.name for f in expert.input_features] == [
        "observation.state",
        "observation.environment_state",
    ]
    assert expert.output_features[0].shape == (6,)


def test_expert_places_the_block_within_limits(sim, expert):
    low, high = sim.ctrl_range[:, 0], sim.ctrl_range[:, 1]
    outcomes = []
    for seed in range(12):
        status, start, actions = run_episode(sim, expert, seed)
        outcomes.append(status.outcome)
        assert np.all((actions >= low) & (actions <= high)), f"seed {seed}: action off limits"
        steps = np.abs(np.diff(np.vstack([start, actions]), axis=0))
        assert steps.max() <= MAX_STEP + 1e-9, f"seed {seed}: {steps.max():.3f} rad in one tick"
    assert outcomes.count(Outcome.SUCCESS) >= 11, outcomes


def test_block_is_carried_by_the_jaw_pads_alone(sim, expert):
    model, data = sim.model, sim.data
    block = model.geom("block").id
    touching: set[str] = set()

    def record_block_contacts() -> None:
        if expert.phase is Phase.CARRY:
            for contact in data.contact[: data.ncon]:
                if block in (contact.geom1, contact.geom2):
                    other = contact.geom2 if contact.geom1 == block else contact.geom1
                    touching.add(model.geom(other).name)

    status, _, _ = run_episode(sim, expert, seed=2, on_tick=record_block_contacts)
    assert status.outcome is Outcome.SUCCESS
    assert touching == {"fixed_jaw_pad", "moving_jaw_pad"}  # friction grip, nothing underneath


def test_reset_makes_episodes_independent(sim, expert):
    _, _, first = run_episode(sim, expert, seed=3)
    run_episode(sim, expert, seed=8)  # a different episode in between must leave no trace
    _, _, again = run_episode(sim, expert, seed=3)
    assert first.shape == again.shape and np.array_equal(first, again)


@pytest.mark.parametrize(
    ("trigger", "missed_in"),
    [
        (Phase.CLOSE, Phase.CLOSE),  # block gone as the jaws close: they close on nothing
        (Phase.LIFT, Phase.LIFT),  # block pulled out of the closed jaws: it does not come up
    ],
)
def test_failed_grasp_is_retried_from_the_observed_block(sim, expert, trigger, missed_in):
    seed = 5
    moved_to: list[np.ndarray] = []

    def move_block_once() -> None:
        if expert.phase is trigger and not moved_to:
            x, y, _ = sim.object_poses()["block"][0]
            target = np.array([x, y + (0.06 if y < 0.07 else -0.06), 0.0125])
            sim.task.set_block_pose(sim.data, target, (np.cos(0.2), 0.0, 0.0, np.sin(0.2)))
            moved_to.append(target)

    status, _, _ = run_episode(sim, expert, seed, on_tick=move_block_once)
    log = expert.phase_log
    assert moved_to, f"the expert never reached {trigger}"
    assert Phase.BACK_OFF in log and log[log.index(Phase.BACK_OFF) - 1] is missed_in, log
    assert expert.attempts == 2 and log.count(Phase.APPROACH) == 2
    assert status.outcome is Outcome.SUCCESS, status


def test_malformed_observation_is_rejected(expert):
    expert.reset()
    with pytest.raises(ValueError, match="environment_state"):
        expert.select_action(
            {"observation.state": np.zeros(6), "observation.environment_state": np.zeros(7)}
        )
