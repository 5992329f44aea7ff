"""Seed 002 prediction analysis: exact statistics on constructed arrays, and a tiny checkpoint made to
output a constant for one joint is reported in mode collapse for that joint only."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from sim2real_trainer.local_dataset import open_local_dataset
from sim2real_trainer.prediction_analysis import (
    PredictionAnalysisConfig,
    analyze_checkpoint,
    default_splits,
    joint_statistics,
    r_squared,
)

from conftest import run_cli

NAMES = ["a", "b", "c"]
COLLAPSED = 3  # wrist_flex


def test_statistics_and_collapse_on_constructed_predictions():
    t = np.linspace(0, 2 * np.pi, 200)
    gt = np.stack([np.sin(t), np.cos(t), 0.5 * t], axis=1)
    pred = gt.copy()
    pred[:, 1] = 0.2  # joint b: a constant
    pred[:, 2] = gt[:, 2] + 0.1  # joint c: right shape, offset by 0.1
    stats = joint_statistics(gt, pred, NAMES, collapse_ratio=0.1)
    assert stats["collapsed_joints"] == ["b"]
    a, b, c = (stats["joints"][n] for n in NAMES)
    assert a["mean_abs_error"] == 0 and a["r2"] == 1.0 and a["std_ratio"] == 1.0
    assert b["pred_std"] == 0 and b["collapsed"] and b["max_abs_error"] == pytest.approx(1.2, abs=1e-3)
    assert c["mean_abs_error"] == pytest.approx(0.1) and c["rmse"] == pytest.approx(0.1)
    assert c["r2"] == pytest.approx(1 - 0.01 / gt[:, 2].var())
    assert r_squared(np.ones(4), np.zeros(4)) is None  # constant ground truth: R² undefined
    still = joint_statistics(np.ones((5, 1)), np.ones((5, 1)), ["d"], 0.1)
    assert still["collapsed_joints"] == []  # a joint that never moves is not collapsed


def test_default_splits_hold_out_what_the_run_did_not_train_on(tiny_dataset):
    dataset = open_local_dataset(tiny_dataset)
    assert default_splits(dataset, [0, 1], None, None) == {"train": [0, 1], "val": [2]}
    assert default_splits(dataset, None, [1], None) == {"train": [0, 2], "val": [1]}
    assert default_splits(dataset, None, None, None) == {"train": [0, 1, 2]}
    with pytest.raises(ValueError, match="val episodes \\[5\\]"):
        default_splits(dataset, None, [5], None)


@pytest.fixture(scope="module")
def constant_wrist_checkpoint(tiny_run, tmp_path_factory):
    """The tiny run's checkpoint with ACT's action head rewired: wrist_flex's row zeroed (its output
    is the bias: a constant), the other rows scaled up (outputs vary a lot from frame to frame)."""
    from safetensors.torch import load_file, save_file

    pretrained = tmp_path_factory.mktemp("collapse") / "pretrained_model"
    shutil.copytree(tiny_run / "checkpoints" / "last" / "pretrained_model", pretrained)
    weights = load_file(pretrained / "model.safetensors")
    head = weights["model.action_head.weight"]
    head *= 50.0
    head[COLLAPSED] = 0.0
    save_file(weights, pretrained / "model.safetensors")
    return pretrained


def test_analysis_files_and_collapse_flag(constant_wrist_checkpoint, tiny_dataset, tmp_path):
    output = tmp_path / "analysis"
    stats, written = analyze_checkpoint(constant_wrist_checkpoint, open_local_dataset(tiny_dataset), output,
                                        PredictionAnalysisConfig(stride=2), val=[2])
    assert written == output
    names = open_local_dataset(tiny_dataset).names("action")
    assert stats["collapsed_joints"] == [names[COLLAPSED]]
    assert set(stats["splits"]) == {"train", "val"}
    assert stats["splits"]["val"]["episodes"] == [2] and stats["splits"]["val"]["n_frames"] == 10
    assert stats["splits"]["train"]["joints"][names[COLLAPSED]]["pred_std"] == pytest.approx(0, abs=1e-6)
    for name in ("train_timeseries.png", "val_timeseries.png", "train_scatter.png", "val_scatter.png",
                 "error_histograms.png"):
        assert (output / name).stat().st_size > 10_000, name
    assert json.loads((output / "statistics.json").read_text())["collapsed_joints"] == [names[COLLAPSED]]
    arrays = np.load(output / "predictions.npz")
    assert arrays["val_gt"].shape == arrays["val_pred"].shape == (10, 6)


def test_command_defaults_to_the_episodes_the_run_held_out(tiny_run, tiny_dataset, capsys):
    assert run_cli("analyze-predictions", "--checkpoint", tiny_run, "--dataset", tiny_dataset, "--stride", "4") == 0
    analysis = tiny_run / "checkpoints" / "000002" / "analysis"
    stats = json.loads((analysis / "statistics.json").read_text())
    assert stats["splits"]["train"]["episodes"] == [0, 1] and stats["splits"]["val"]["episodes"] == [2]
    assert "mode collapse (pred std < 0.1 x GT std)" in capsys.readouterr().out
    shutil.rmtree(analysis)  # leave the shared run as it was
