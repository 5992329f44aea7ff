"""`sim2real export-onnx` on a tiny ACT, then the ONNX model serves the same graph (a light-device
deployment path)."""

from __future__ import annotations

import json

from conftest import run_sim2real
from sim2real_testing.datasets import make_tiny_dataset
from sim2real_testing.policies import train_tiny_act


def test_export_onnx_command_then_eval_sim_with_the_onnx_model(tmp_path):
    dataset = make_tiny_dataset(tmp_path / "data", cameras={"overhead_cam": (96, 128), "wrist_cam": (96, 128)})
    train_tiny_act(dataset, tmp_path / "train")
    exported = run_sim2real("export-onnx", str(tmp_path / "train"), "-o", str(tmp_path / "act.onnx"))
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert (tmp_path / "act.onnx").is_file() and (tmp_path / "act.yaml").is_file()
    assert f"policy:={tmp_path / 'act.onnx'}" in exported.stdout
    result = run_sim2real("launch", "so101", "eval_sim.launch.py", "n_episodes:=1", "max_steps:=20",
                       f"policy:={tmp_path / 'act.onnx'}", f"report:={tmp_path / 'r.json'}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["n_episodes"] == 1 and report["episodes"][0]["steps"] == 20


def test_export_onnx_of_a_missing_checkpoint_is_one_clear_error(tmp_path):
    result = run_sim2real("export-onnx", str(tmp_path / "nothing"), timeout=300)
    assert result.returncode == 2
    assert "nothing" in result.stderr and "Traceback" not in result.stderr
