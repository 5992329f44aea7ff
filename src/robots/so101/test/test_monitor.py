"""Task monitor on hand-made trajectories in the real scene (block teleported, no policy)."""

import numpy as np
import pytest

from sim2real_sim.sim import Sim, SimConfig
from so101.pick_place.monitor import Outcome


@pytest.fixture
def sim():
    s = Sim(SimConfig(scene="so101_pick_place", max_steps=60))
    s.reset(0)
    yield s
    s.close()


def _hold(sim, pos, ticks):
    """Keep the block at ``pos`` for ``ticks`` control ticks (as if carried)."""
    for _ in range(ticks):
        sim.task.set_block_pose(sim.data, pos)
        sim.step()


def _run_out(sim):
    while not sim.status.done:
        sim.step()
    return sim.status


def test_block_teleported_into_the_bowl_is_success(sim):
    bowl = sim.object_poses()["bowl"][0]
    sim.task.set_block_pose(sim.data, [bowl[0], bowl[1], 0.03])
    status = _run_out(sim)
    assert status.outcome is Outcome.SUCCESS
    assert status.steps < 60  # settling in the bowl ends the episode early
    assert not status.picked


def test_lifted_then_released_mid_air_is_dropped_during_transport(sim):
    block = sim.object_poses()["block"][0]
    _hold(sim, [block[0], block[1], 0.12], 10)
    status = _run_out(sim)
    assert status.outcome is Outcome.DROPPED_DURING_TRANSPORT
    kinds = [e.kind for e in status.events]
    assert kinds == ["pick", "drop"]
    assert status.max_height == pytest.approx(0.12, abs=0.01)


def test_never_touched_is_never_picked_up(sim):
    status = _run_out(sim)
    assert status.outcome is Outcome.NEVER_PICKED_UP
    assert status.steps == 60 and status.events == []


def test_released_next_to_the_bowl_is_missed_goal(sim):
    bowl = sim.object_poses()["bowl"][0]
    beside = [bowl[0] + 0.085, bowl[1], 0.10]  # within the release radius, outside the rim
    _hold(sim, beside, 10)
    status = _run_out(sim)
    assert status.outcome is Outcome.MISSED_GOAL
    assert [e.kind for e in status.events] == ["pick", "place"]


def test_still_held_when_time_runs_out_is_timeout(sim):
    block = sim.object_poses()["block"][0]
    _hold(sim, [block[0], block[1], 0.10], 60)
    assert sim.status.done and sim.status.outcome is Outcome.TIMEOUT


def test_carried_into_the_bowl_is_success_with_pick_and_place(sim):
    bowl = sim.object_poses()["bowl"][0]
    block = sim.object_poses()["block"][0]
    for alpha in np.linspace(0, 1, 15):
        xy = (1 - alpha) * block[:2] + alpha * bowl[:2]
        _hold(sim, [xy[0], xy[1], 0.10], 1)
    status = _run_out(sim)
    assert status.outcome is Outcome.SUCCESS
    assert [e.kind for e in status.events] == ["pick", "place"]


def test_status_is_json_friendly(sim):
    status = _run_out(sim)
    as_dict = status.to_dict()
    assert as_dict["outcome"] == "never_picked_up" and as_dict["done"] is True


def test_block_held_still_inside_the_bowl_is_not_yet_success(sim):
    bowl = sim.object_poses()["bowl"][0]
    _hold(sim, [bowl[0], bowl[1], 0.035], 20)  # lifted (above the lift threshold), below the rim
    assert not sim.status.done  # settling only counts once the block is down
    status = _run_out(sim)
    assert status.outcome is Outcome.SUCCESS
