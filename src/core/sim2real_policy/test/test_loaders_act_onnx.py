"""ACT -> ONNX export: the ONNX loader serves the same actions as the PyTorch policy."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from sim2real_policy.loaders import load_policy
from sim2real_policy.exporters.act_onnx import export_act_onnx
from sim2real_testing.datasets import make_tiny_dataset
from sim2real_testing.policies import train_tiny_act

CAMERAS = {"overhead_cam": (96, 128), "wrist_cam": (96, 128)}
CHUNK, N_ACTION_STEPS = 8, 5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("act_onnx")
    dataset = make_tiny_dataset(root / "dataset", cameras=CAMERAS)
    train_tiny_act(dataset, root / "train", chunk_size=CHUNK, n_action_steps=N_ACTION_STEPS)
    onnx_path, sidecar = export_act_onnx(root / "train", root / "export" / "act.onnx")
    return root / "train", onnx_path, sidecar


def test_writes_model_and_sidecar_with_chunking_and_stats(exported):
    _, onnx_path, sidecar = exported
    assert onnx_path.is_file() and sidecar == onnx_path.with_suffix(".yaml")
    data = yaml.safe_load(sidecar.read_text())
    assert data["n_action_steps"] == N_ACTION_STEPS
    assert data["outputs"][0]["shape"] == [CHUNK, 6]
    assert [i["feature"] for i in data["inputs"]] == [
        "observation.state",
        "observation.images.overhead_cam",
        "observation.images.wrist_cam",
    ]
    assert all(set(i["normalize"]) == {"mean", "std"} for i in data["inputs"])
    assert set(data["outputs"][0]["normalize"]) == {"mean", "std"}


def test_onnx_serves_the_pytorch_actions(exported):
    checkpoint, onnx_path, _ = exported
    torch_policy, onnx_policy = load_policy(str(checkpoint)), load_policy(str(onnx_path))
    assert onnx_policy.input_features == torch_policy.input_features
    assert onnx_policy.output_features == torch_policy.output_features
    rng = np.random.default_rng(0)
    for episode in range(2):
        torch_policy.reset()
        onnx_policy.reset()
        assert onnx_policy.queued_actions == 0
        for tick in range(2 * N_ACTION_STEPS + 2):  # three chunks
            obs = {"observation.state": rng.uniform(-0.5, 0.5, 6)}
            for camera, (h, w) in CAMERAS.items():
                obs[f"observation.images.{camera}"] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            expected, served = torch_policy.select_action(obs), onnx_policy.select_action(obs)
            np.testing.assert_allclose(
                served, expected, atol=1e-4, err_msg=f"episode {episode} tick {tick}"
            )
            assert onnx_policy.queued_actions == N_ACTION_STEPS - 1 - tick % N_ACTION_STEPS
