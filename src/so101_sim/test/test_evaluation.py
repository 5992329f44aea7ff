"""Report aggregation and the Wilson interval."""

import json

import pytest

from so101_sim.evaluation import summarize, wilson_interval, write_report


def test_wilson_interval_known_values():
    # 8/10 -> (0.490, 0.943) (Wilson 1927; standard tables)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def _episode(outcome, picked, steps=100, height=0.1):
    return {"outcome": outcome, "picked": picked, "steps": steps, "max_height": height, "events": []}


def test_summary_counts_and_rates():
    episodes = [
        _episode("success", True, 100, 0.2),
        _episode("success", True, 140, 0.2),
        _episode("dropped_during_transport", True, 300, 0.15),
        _episode("never_picked_up", False, 300, 0.0125),
    ]
    report = summarize(episodes, meta={"policy": "expert"})
    assert report["policy"] == "expert"
    assert report["success_rate"] == 0.5 and report["pc_success"] == 50.0
    assert report["failures"] == {"never_picked_up": 1, "dropped_during_transport": 1,
                                  "missed_goal": 0, "timeout": 0}
    assert report["pick_rate"] == 0.75
    assert report["drop_rate"] == pytest.approx(1 / 3)
    assert report["avg_steps_success"] == 120
    lo, hi = report["success_rate_ci95"]
    assert lo < 0.5 < hi


def test_report_is_written_atomically(tmp_path):
    path = write_report(summarize([_episode("success", True)]), tmp_path / "sub" / "r.json")
    assert json.loads(path.read_text())["n_success"] == 1
    assert not list(tmp_path.rglob("*.tmp"))
