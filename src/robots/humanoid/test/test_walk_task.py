"""The walking task through the sim core (no ROS): standing still is a fall-free episode with no
distance; a torso tipped over ends the episode as a fall; the report has the walking figures."""

import numpy as np
import pytest

from humanoid.walk.task import FELL, UPRIGHT, WalkTask
from sim2real_sim.evaluation import summarize
from sim2real_sim.sim import Sim, SimConfig

STOP = np.zeros(17)


@pytest.fixture(scope="module")
def sim():
    sim = Sim(SimConfig(scene="humanoid_walk", max_steps=25))  # at the robot config's 12.5 Hz
    yield sim
    sim.close()


def test_standing_still_is_upright_for_the_whole_episode(sim):
    status = sim.reset(seed=1)
    while not status.done:
        status = sim.step(STOP)
    assert (status.outcome, status.fell, status.steps) == (UPRIGHT, False, 25)
    assert abs(status.distance_m) < 0.05 and status.upright_s == pytest.approx(25 / 12.5)


def test_a_tipped_torso_is_a_fall(sim):
    sim.reset(seed=2)
    base = sim.model.joint("root").qposadr[0]
    sim.data.qpos[base + 3: base + 7] = [np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0]  # 90 deg about x
    status = sim.step(STOP)
    assert (status.outcome, status.fell, status.done) == (FELL, True, True)


def test_the_same_seed_gives_the_same_start(sim):
    sim.reset(seed=7)
    first = sim.data.qpos.copy()
    sim.reset(seed=8)
    sim.reset(seed=7)
    assert np.array_equal(sim.data.qpos, first)


def test_the_report_gives_fall_free_rate_and_distance():
    episodes = [{"episode": i, "outcome": o, "steps": 10, "fell": o == FELL, "distance_m": d, "speed_m_s": d / 2,
                 "upright_s": 2.0, "foot_switches": 4} for i, (o, d) in enumerate([(UPRIGHT, 2.5), (FELL, 0.5)])]
    report = summarize(episodes, WalkTask)
    assert report["fall_free_rate"] == report["success_rate"] == 0.5
    assert report["mean_distance_m"] == pytest.approx(1.5) and report["falls"] == 1
    assert report["outcomes"] == {UPRIGHT: 1, FELL: 1}
    low, high = report["fall_free_rate_ci95"]
    assert 0 < low < 0.5 < high < 1
