"""Report aggregation and the Wilson interval."""

import json

import pytest

from rich.console import Console

from sim2real_sim.evaluation import print_report, summarize, wilson_interval, write_report


def test_wilson_interval_known_values():
    # 8/10 -> (0.490, 0.943) (Wilson 1927; standard tables)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)


class ToyTask:
    """A task as the evaluator sees it: its outcome taxonomy and its own figures."""

    OUTCOMES = ("reached", "missed", "timeout")

    @staticmethod
    def report_metrics(episodes):
        return {"touch_rate": sum(e["touched"] for e in episodes) / len(episodes) if episodes else 0.0}


def _episode(outcome, touched, steps=100):
    return {"episode": 0, "seed": 1, "outcome": outcome, "touched": touched, "steps": steps}


def test_summary_counts_rates_and_the_tasks_own_figures():
    episodes = [_episode("reached", True, 100), _episode("reached", True, 140), _episode("missed", True, 300),
                _episode("timeout", False, 300)]
    report = summarize(episodes, ToyTask, meta={"policy": "expert"})
    assert report["policy"] == "expert"
    assert report["success_rate"] == 0.5 and report["pc_success"] == 50.0
    assert report["outcomes"] == {"reached": 2, "missed": 1, "timeout": 1}
    assert report["failures"] == {"missed": 1, "timeout": 1}
    assert report["touch_rate"] == 0.75 and report["task_metrics"] == ["touch_rate"]
    assert report["avg_steps_success"] == 120
    lo, hi = report["success_rate_ci95"]
    assert lo < 0.5 < hi


def test_report_prints_the_tasks_figures():
    console = Console(record=True, width=120)
    print_report(summarize([_episode("reached", True), _episode("missed", False)], ToyTask), console)
    text = console.export_text()
    assert "success rate" in text and "50.0%" in text and "touch_rate" in text and "missed" in text


def test_report_is_written_atomically(tmp_path):
    path = write_report(summarize([_episode("reached", True)], ToyTask), tmp_path / "sub" / "r.json")
    assert json.loads(path.read_text())["n_success"] == 1
    assert not list(tmp_path.rglob("*.tmp"))
