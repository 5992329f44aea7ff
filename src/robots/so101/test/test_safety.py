"""Watchdog and stall guard on synthetic readings."""

from __future__ import annotations

import numpy as np
import pytest

from sim2real_hardware.watchdog import CommandWatchdog
from so101.hardware.safety import Stall, StallConfig, StallGuard

NAMES = ["a", "gripper"]
NAN = np.array([np.nan, np.nan])


def test_watchdog_expires_without_commands():
    dog = CommandWatchdog(0.5)
    assert dog.expired(0.0) and dog.silence(0.0) is None
    dog.feed(1.0)
    assert not dog.expired(1.4) and dog.expired(1.6) and dog.silence(1.6) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="timeout"):
        CommandWatchdog(0)


@pytest.fixture
def guard() -> StallGuard:
    return StallGuard(StallConfig(load=(0.5, 0.2), current_ma=(2000, 1000), time_s=0.5, hold_margin=0.02,
                                  release_s=1.0), NAMES)


def feed(guard, t, present, load, current=(0, 0), goal=(np.nan, np.nan)):
    return guard.update(t, np.array(present, float), np.array(load, float), np.array(current, float),
                        np.array(goal, float))


def test_short_strain_is_ignored_sustained_strain_backs_off(guard):
    assert feed(guard, 0.0, [0, 1.0], [0, 0.3], goal=[0, 0.5]) == []
    assert feed(guard, 0.3, [0, 1.0], [0, 0.1], goal=[0, 0.5]) == []  # eased: timer restarts
    assert feed(guard, 0.4, [0, 1.0], [0, 0.3], goal=[0, 0.5]) == []
    assert feed(guard, 0.9, [0, 1.0], [0, 0.3], goal=[0, 0.5]) == [("gripper", Stall.BACKED_OFF)]
    # closing (decreasing) into the block: capped 0.02 rad beyond where it stopped
    assert guard.limit(np.array([0.7, 0.0])) == pytest.approx([0.7, 0.98])
    assert guard.limit(np.array([0.7, 0.99])) == pytest.approx([0.7, 0.99])  # inside the margin: as asked
    assert guard.state("gripper") is Stall.BACKED_OFF
    assert guard.limit(np.array([0.7, 1.3])) == pytest.approx([0.7, 1.3])  # opening past the stop frees it
    assert guard.state("gripper") is Stall.FREE


def test_current_alone_counts_and_direction_falls_back_to_the_load_sign(guard):
    feed(guard, 0.0, [0.2, 0], [-0.1, 0], current=[2500, 0], goal=[0.2, 0])
    assert feed(guard, 0.6, [0.2, 0], [-0.1, 0], current=[2500, 0], goal=[0.2, 0]) == [("a", Stall.BACKED_OFF)]
    assert guard.limit(np.array([-1.0, 0]))[0] == pytest.approx(0.18)


def test_strain_that_does_not_ease_after_backing_off_releases(guard):
    feed(guard, 0.0, [0, 1.0], [0, 0.5], goal=[0, 0.5])
    feed(guard, 0.5, [0, 1.0], [0, 0.5], goal=[0, 0.5])
    assert feed(guard, 1.0, [0, 1.0], [0, 0.5]) == []
    assert feed(guard, 1.6, [0, 1.0], [0, 0.5]) == [("gripper", Stall.RELEASED)]
    assert guard.state("gripper") is Stall.RELEASED
    assert feed(guard, 9.0, [0, 1.0], [0, 0.0]) == []  # stays released
    guard.reset()
    assert guard.state("gripper") is Stall.FREE


def test_unread_joints_are_skipped(guard):
    assert feed(guard, 0.0, [np.nan, np.nan], [1, 1]) == []
    assert feed(guard, 5.0, [np.nan, np.nan], [1, 1]) == []


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="fractions"):
        StallConfig(load=(1.5,), current_ma=(100,))
    with pytest.raises(ValueError, match="2 load values but 1 current"):
        StallConfig(load=(0.5, 0.5), current_ma=(100,))
    with pytest.raises(ValueError, match="expected 2 values"):
        StallGuard(StallConfig(load=(0.5,), current_ma=(100,)), NAMES)
