"""Pick-place's evaluation report: its outcome taxonomy and figures through the generic summary."""

import pytest

from sim2real_sim.evaluation import summarize
from so101.pick_place.task import PickPlaceTask


def _episode(outcome, picked, steps=100, height=0.1):
    return {"outcome": outcome, "picked": picked, "steps": steps, "max_height": height, "events": []}


def test_pick_place_report_keeps_its_taxonomy_and_figures():
    episodes = [
        _episode("success", True, 100, 0.2),
        _episode("success", True, 140, 0.2),
        _episode("dropped_during_transport", True, 300, 0.15),
        _episode("never_picked_up", False, 300, 0.0125),
    ]
    report = summarize(episodes, PickPlaceTask, meta={"policy": "expert"})
    assert report["success_rate"] == 0.5
    assert report["failures"] == {"never_picked_up": 1, "dropped_during_transport": 1,
                                  "missed_goal": 0, "timeout": 0}
    assert report["pick_rate"] == 0.75
    assert report["drop_rate"] == pytest.approx(1 / 3)
    assert report["avg_max_height"] == pytest.approx((0.2 + 0.2 + 0.15 + 0.0125) / 4)
    assert report["avg_steps_success"] == 120
