"""End to end: `sim2real launch so101 eval_sim.launch.py` runs sim bridge + policy node + evaluator as
separate ROS 2 processes, evaluates the scripted expert and writes the report and video."""

from __future__ import annotations

import json

import imageio.v3 as iio
import pytest

from conftest import run_sim2real

OUTCOMES = {"success", "never_picked_up", "dropped_during_transport", "missed_goal", "timeout"}


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    result = run_sim2real("launch", "so101", "eval_sim.launch.py", "n_episodes:=3", "seed:=0", "policy:=expert",
                       f"report:={out / 'report.json'}", "record_video:=true")
    return result, out


def test_expert_evaluation_through_the_ros_graph(evaluation):
    result, out = evaluation
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["n_episodes"] == 3 and report["complete"] is True
    assert report["n_success"] >= 2
    assert report["pc_success"] == pytest.approx(100 * report["success_rate"])
    low, high = report["success_rate_ci95"]
    assert 0 <= low <= report["success_rate"] <= high <= 1
    assert set(report["outcomes"]) == OUTCOMES and sum(report["outcomes"].values()) == 3
    assert [e["seed"] for e in report["episodes"]] == [0, 1, 2]
    assert [e["policy_resets"] for e in report["episodes"]] == [1, 2, 3]  # reset() before every episode
    for episode in report["episodes"]:
        assert episode["outcome"] in OUTCOMES and episode["done"] is True
        assert 0 < episode["steps"] <= 300
        if episode["outcome"] == "success":
            assert [e["kind"] for e in episode["events"]][:1] == ["pick"]
            assert episode["max_height"] > 0.04
    assert 0 <= report["pick_rate"] <= 1 and report["avg_max_height"] > 0


def test_terminal_table_is_printed(evaluation):
    result, _ = evaluation
    text = result.stdout + result.stderr
    assert "success rate" in text and "dropped_during_transport" in text


def test_video_has_frames_of_every_episode(evaluation):
    result, out = evaluation
    report = json.loads((out / "report.json").read_text())
    frames = iio.imread(report["video"], index=None, plugin="pyav")
    steps = sum(e["steps"] for e in report["episodes"])
    assert frames.shape[1:] == (480, 640, 3)
    assert frames.shape[0] >= steps  # one frame per tick (+ the reset frames)


EPISODE_RESULT = ("seed", "outcome", "steps", "max_height", "events")


def episode_results(report_path) -> list[tuple]:
    episodes = json.loads(report_path.read_text())["episodes"]
    return [tuple(json.dumps(e[k]) for k in EPISODE_RESULT) for e in episodes]


def test_same_seeds_give_the_same_episodes_through_the_graph_and_without_ros(evaluation, tmp_path):
    """Lockstep evaluation is a pure function of seeds and policy: a second run (without video,
    so at another pace) and the ROS-free `eval-sim` (same loader, same action clamping) give
    identical episodes, event by event."""
    _, out = evaluation
    again = run_sim2real("launch", "so101", "eval_sim.launch.py", "n_episodes:=3", "seed:=0",
                         f"report:={tmp_path / 'again.json'}")
    assert again.returncode == 0, again.stderr[-3000:]
    ros_free = run_sim2real("eval-sim", "--policy", "expert", "--episodes", "3", "--seed", "0",
                            "--output", str(tmp_path / "ros_free.json"))
    assert ros_free.returncode == 0, ros_free.stderr[-3000:]
    first = episode_results(out / "report.json")
    assert len(first) == 3
    assert episode_results(tmp_path / "again.json") == first
    assert episode_results(tmp_path / "ros_free.json") == first


@pytest.mark.parametrize(
    "args, words",
    [
        (["eval_sim.launch.py", "episodes:=3"], ["episodes", "n_episodes"]),
        (["eval_sim.launch.py", "record_video:=maybe"], ["record_video", "true", "false"]),
        (["eval_sim.launch.py", "policy:=nonsense", "n_episodes:=1"], ["nonsense", "expert"]),
        (["eval_sim.launch.py", "scene:=kitchen", "n_episodes:=1"], ["kitchen", "so101_pick_place"]),
        (["teleop_on_mars.launch.py"], ["teleop_on_mars.launch.py", "eval_sim.launch.py"]),
    ],
)
def test_bad_input_gives_one_clear_error(args, words):
    result = run_sim2real("launch", "so101", *args, timeout=300)
    assert result.returncode != 0
    text = result.stdout + result.stderr
    for word in words:
        assert word in text, text[-2000:]
    assert "Traceback" not in result.stderr[-2000:]
