"""Start-up failures through the project command: one `error:` line naming the file, a non-zero
exit, no traceback, and no second error from the clean-up of the half-built node."""

from __future__ import annotations

import shutil

import pytest

from conftest import run_sim2real
from sim2real_testing.datasets import make_tiny_dataset
from sim2real_testing.policies import train_tiny_act


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("act")
    return train_tiny_act(make_tiny_dataset(root / "dataset"), root / "train")


@pytest.fixture
def truncated_weights(checkpoint, tmp_path):
    copy = shutil.copytree(checkpoint, tmp_path / "pretrained_model")
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    return copy, weights


def error_lines(result) -> list[str]:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-4000:]
    return [line for line in output.splitlines() if "error:" in line]


def test_eval_sim_command_names_the_truncated_weights(truncated_weights, tmp_path):
    copy, weights = truncated_weights
    result = run_sim2real("eval-sim", "--policy", str(copy), "--episodes", "1", "--output", str(tmp_path / "r.json"))
    assert result.returncode != 0
    [line] = error_lines(result)
    assert line.startswith(f"sim2real: error: {weights}: expected a safetensors file") and "truncated" in line


def test_eval_sim_launch_names_the_truncated_weights_once(truncated_weights, tmp_path):
    copy, weights = truncated_weights
    result = run_sim2real("launch", "so101", "eval_sim.launch.py", f"policy:={copy}", "n_episodes:=1",
                          f"report:={tmp_path / 'report.json'}")
    assert result.returncode != 0
    [line] = error_lines(result)  # the policy's, and nothing from its clean-up or the evaluator's
    assert line.startswith(f"[policy] error: {weights}: expected a safetensors file")
    assert "AttributeError" not in result.stderr and not (tmp_path / "report.json").exists()


def test_eval_sim_command_names_a_missing_processor_state(checkpoint, tmp_path):
    copy = shutil.copytree(checkpoint, tmp_path / "pretrained_model")
    state = next(copy.glob("policy_postprocessor_step_*.safetensors"))
    state.unlink()
    result = run_sim2real("eval-sim", "--policy", str(copy), "--episodes", "1", "--output", str(tmp_path / "r.json"))
    assert result.returncode != 0
    [line] = error_lines(result)
    assert f"lacks {state.name}" in line and "HFValidationError" not in result.stderr


def test_record_sim_dataset_that_is_a_file(tmp_path):
    target = tmp_path / "dataset"
    target.write_text("not a dataset\n")
    result = run_sim2real("launch", "so101", "record_sim.launch.py", f"dataset:={target}", "n_episodes:=1",
                          f"report:={tmp_path / 'report.json'}")
    assert result.returncode != 0
    [line] = error_lines(result)
    assert line.startswith(f"[recorder] error: root {target}: expected a directory")
    assert target.read_text() == "not a dataset\n"


def test_record_sim_directory_that_is_not_a_dataset_is_left_alone(tmp_path):
    target = tmp_path / "photos"
    target.mkdir()
    (target / "holiday.jpg").write_bytes(b"\xff\xd8 not touched")
    result = run_sim2real("launch", "so101", "record_sim.launch.py", f"dataset:={target}", "n_episodes:=1",
                          f"report:={tmp_path / 'report.json'}")
    assert result.returncode != 0
    [line] = error_lines(result)
    assert line.startswith(f"[recorder] error: root {target} exists and is not a LeRobot dataset")
    assert sorted(p.name for p in target.iterdir()) == ["holiday.jpg"]


def test_calibrate_on_a_port_that_does_not_exist(tmp_path):
    port = tmp_path / "ttyUSB7"
    result = run_sim2real("calibrate", "--port", str(port), "--id", "probe", timeout=300)
    assert result.returncode != 0
    [line] = error_lines(result)
    assert line.startswith(f"sim2real calibrate: error: cannot open port '{port}'")
