"""The recorder node (a real process) refuses a bad dataset path or a missing contract with one
line naming it, exit code 2, no traceback and no second error from the clean-up of the half-built
node; what is at the path is left as it was."""

from __future__ import annotations

import pytest

from sim2real_common.ros_testing import isolate_ros, start_node

EXIT_WAIT_S = 120.0  # imports (LeRobot, torch) on a loaded machine


@pytest.fixture(scope="module", autouse=True)
def ros(tmp_path_factory):
    return isolate_ros(tmp_path_factory.mktemp("ros_log"))


def run_recorder(tmp_path, contract: str | None = "so101_pick_place", **params) -> tuple[int, str]:
    """The recorder with ``params`` (and ``contract`` unless None) until it exits."""
    log = tmp_path / "recorder.log"
    contract_param = {} if contract is None else {"contract": contract}
    proc = start_node("sim2real_recorder.recorder_node", namespace="so101", log=log,
                      params={**contract_param, **params})
    code = proc.wait(timeout=EXIT_WAIT_S)
    return code, log.read_text()


def the_error(output: str) -> str:
    assert "Traceback" not in output, output
    [line] = [line for line in output.splitlines() if "error" in line.lower()]
    return line


def test_dataset_path_that_is_a_file(tmp_path):
    target = tmp_path / "dataset"
    target.write_text("keep me\n")
    code, output = run_recorder(tmp_path, dataset=target)
    assert code == 2
    assert the_error(output) == (f"error: root {target}: expected a directory (a LeRobot dataset to add to, or "
                                 "a new one), found a file; choose another dataset path")
    assert target.read_text() == "keep me\n"


def test_directory_that_is_not_a_dataset(tmp_path):
    target = tmp_path / "notes"
    target.mkdir()
    (target / "todo.txt").write_text("keep me\n")
    code, output = run_recorder(tmp_path, dataset=target)
    assert code == 2
    assert the_error(output).startswith(f"error: root {target} exists and is not a LeRobot dataset (holds ['todo.txt'])")
    assert [p.name for p in target.iterdir()] == ["todo.txt"]


def test_bad_session_parameter_opens_no_dataset(tmp_path):
    target = tmp_path / "new_dataset"
    code, output = run_recorder(tmp_path, dataset=target, episode_time_s=-1.0)
    assert code == 2
    assert the_error(output).startswith("error: episode_time_s: expected >= 0")
    assert not target.exists()  # checked before the writer created the dataset


def test_contract_is_required(tmp_path):
    target = tmp_path / "new_dataset"
    code, output = run_recorder(tmp_path, contract=None, dataset=target)
    assert code == 2
    assert the_error(output) == ("error: parameter contract: required (a contract of a robot package, "
                                 "e.g. so101_pick_place)")
    assert not target.exists()
