"""TorchScript and ONNX exports of a small MLP serve the source model's actions; sidecar errors
name the file and the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from sim2real_policy.errors import CheckpointFileError
from sim2real_policy.interface import Feature
from sim2real_policy.loaders import load_policy
from sim2real_policy.loaders.errors import SidecarError
from sim2real_policy.loaders.normalization import MeanStd, MinMax
from sim2real_policy.loaders.sidecar import ACTION, Sidecar, TensorSpec, read_sidecar, write_sidecar

STATE_MEAN, STATE_STD = [0.1, -0.2, 0.3, 0.0, 0.5, -0.1], [0.5, 0.4, 0.3, 0.6, 0.2, 0.8]
ACTION_MIN, ACTION_MAX = [-1.0, -2.0, -1.5, -1.0, -3.0, 0.0], [1.0, 2.0, 1.5, 1.0, 3.0, 1.5]


class Mlp(torch.nn.Module):
    """Normalised state -> normalised action chunk (chunk, 6), or one action when chunk == 0."""

    def __init__(self, chunk: int = 0) -> None:
        super().__init__()
        self.chunk = chunk
        self.net = torch.nn.Sequential(
            torch.nn.Linear(6, 32), torch.nn.Tanh(), torch.nn.Linear(32, 6 * max(chunk, 1))
        )

    def forward(self, observation_state: torch.Tensor) -> torch.Tensor:
        out = self.net(observation_state)
        return out.reshape(out.shape[0], self.chunk, 6) if self.chunk else out


def sidecar_mapping(chunk: int = 0, n_action_steps: int | None = None) -> dict:
    data = {
        "inputs": [
            {
                "name": "observation_state",
                "feature": "observation.state",
                "shape": [6],
                "normalize": {"mean": STATE_MEAN, "std": STATE_STD},
            }
        ],
        "outputs": [
            {
                "name": "action",
                "feature": "action",
                "shape": [chunk, 6] if chunk else [6],
                "normalize": {"min": ACTION_MIN, "max": ACTION_MAX},
            }
        ],
    }
    if n_action_steps is not None:
        data["n_action_steps"] = n_action_steps
    return data


def reference_chunk(model: Mlp, state: np.ndarray) -> np.ndarray:
    """What the served actions must be: unnormalise(model(normalise(state)))."""
    x = (state - np.array(STATE_MEAN)) / np.array(STATE_STD)
    with torch.no_grad():
        y = model(torch.tensor(x, dtype=torch.float32)[None])[0].numpy()
    low, high = np.array(ACTION_MIN), np.array(ACTION_MAX)
    return ((y + 1) / 2 * (high - low) + low).reshape(-1, 6)


def export(model: Mlp, path, kind: str, sidecar: dict) -> str:
    model.eval()
    if kind == "torchscript":
        torch.jit.script(model).save(str(path))
    else:
        torch.onnx.export(
            model,
            (torch.zeros(1, 6),),
            str(path),
            input_names=["observation_state"],
            output_names=["action"],
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    path.with_suffix(".yaml").write_text(yaml.safe_dump(sidecar))
    return str(path)


@pytest.mark.parametrize("kind,suffix", [("torchscript", ".pt"), ("onnx", ".onnx")])
def test_export_serves_the_source_model_actions(tmp_path, kind, suffix):
    torch.manual_seed(0)
    model = Mlp()
    policy = load_policy(export(model, tmp_path / f"mlp{suffix}", kind, sidecar_mapping()))
    assert policy.input_features == (Feature("observation.state", (6,)),)
    assert policy.output_features == (Feature("action", (6,)),)
    rng = np.random.default_rng(0)
    for _ in range(5):
        state = rng.uniform(-1, 1, 6)
        served = policy.select_action({"observation.state": state})
        np.testing.assert_allclose(served, reference_chunk(model, state)[0], atol=1e-5)


def test_chunked_output_is_queued_and_reset_clears_it(tmp_path):
    torch.manual_seed(1)
    model = Mlp(chunk=4)
    policy = load_policy(
        export(model, tmp_path / "chunk.pt", "torchscript", sidecar_mapping(4, n_action_steps=3))
    )
    first, second = np.full(6, 0.2), np.full(6, -0.4)
    served = [policy.select_action({"observation.state": first}) for _ in range(3)]
    np.testing.assert_allclose(served, reference_chunk(model, first)[:3], atol=1e-5)
    assert policy.queued_actions == 0
    policy.select_action({"observation.state": first})
    assert policy.queued_actions == 2
    policy.reset()
    assert policy.queued_actions == 0
    np.testing.assert_allclose(
        policy.select_action({"observation.state": second}), reference_chunk(model, second)[0], atol=1e-5
    )


def test_sidecar_round_trip(tmp_path):
    sidecar = Sidecar(
        inputs=(
            TensorSpec(
                "s",
                "observation.state",
                (6,),
                normalize=MeanStd(np.ones(6, np.float32), np.full(6, 2, np.float32)),
            ),
            TensorSpec(
                "im",
                "observation.images.cam",
                (3, 4, 5),
                normalize=MeanStd(np.zeros((3, 1, 1), np.float32), np.ones((3, 1, 1), np.float32)),
            ),
        ),
        output=TensorSpec(
            ACTION, ACTION, (10, 6), normalize=MinMax(np.zeros(6, np.float32), np.ones(6, np.float32))
        ),
        n_action_steps=7,
        source={"policy_type": "act"},
    )
    path = write_sidecar(tmp_path / "m.yaml", sidecar)
    assert read_sidecar(path).to_mapping() == sidecar.to_mapping()


MALFORMED = [
    # (change to a valid sidecar mapping, field named in the error, text of the expectation)
    (lambda d: d.pop("inputs"), "inputs", "expected a list, found nothing"),
    (lambda d: d["inputs"][0].update(shape="six"), "inputs[0].shape", "expected a list"),
    (lambda d: d["inputs"][0].update(shape=[0]), "inputs[0].shape", "positive integers"),
    (lambda d: d["inputs"][0]["normalize"].pop("std"), "inputs[0].normalize", "{mean, std} or {min, max}"),
    (
        lambda d: d["inputs"][0]["normalize"].update(mean=[0.0, 1.0]),
        "inputs[0].normalize.mean",
        "list of 6 numbers",
    ),
    (lambda d: d["inputs"][0].update(normalise={}), "inputs[0].normalise", "one of name, feature"),
    (lambda d: d["inputs"][0].update(feature="observation.images.cam"), "inputs[0].shape", "[3, H, W]"),
    (lambda d: d["inputs"][0].update(dtype="float99"), "inputs[0].dtype", "numpy dtype"),
    (
        lambda d: d["outputs"][0].update(feature="observation.state"),
        "outputs[0].feature",
        "expected 'action'",
    ),
    (lambda d: d.update(n_action_steps=9), "n_action_steps", "1..4"),
    (
        lambda d: d["inputs"][0].update(name="state"),
        "inputs[0].name",
        "one of the model's inputs (observation_state)",
    ),
    (lambda d: d["outputs"][0].update(shape=[5, 6]), "outputs[0].shape", "[4, 6]"),
]


@pytest.fixture(scope="module")
def chunk_onnx(tmp_path_factory):
    torch.manual_seed(2)
    path = tmp_path_factory.mktemp("onnx") / "chunk.onnx"
    return export(Mlp(chunk=4), path, "onnx", sidecar_mapping(4))


@pytest.mark.parametrize("change,field,expected", MALFORMED)
def test_malformed_sidecar_names_file_and_field(chunk_onnx, change, field, expected):
    data = sidecar_mapping(4)
    change(data)
    sidecar = chunk_onnx.replace(".onnx", ".yaml")
    with open(sidecar, "w") as f:
        yaml.safe_dump(data, f)
    with pytest.raises(SidecarError) as error:
        load_policy(chunk_onnx)
    assert str(error.value).startswith(f"{sidecar}: {field}: ") and expected in str(error.value)
    assert error.value.field == field


def test_missing_and_unparsable_sidecar(tmp_path):
    torch.manual_seed(3)
    model_path = export(Mlp(), tmp_path / "m.pt", "torchscript", sidecar_mapping())
    sidecar = tmp_path / "m.yaml"
    sidecar.write_text("inputs: [unclosed\n")
    with pytest.raises(
        SidecarError, match=rf"^{sidecar}: <file>: expected valid YAML, found a syntax error"
    ):
        load_policy(model_path)
    sidecar.unlink()
    with pytest.raises(
        SidecarError, match=rf"^{sidecar}: <file>: expected a YAML sidecar .*found no such file"
    ):
        load_policy(model_path)


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("kind,suffix,expected", [
    ("torchscript", ".pt", "expected a TorchScript module (torch.jit.save)"),
    ("onnx", ".onnx", "expected an ONNX model onnxruntime loads"),
])
@pytest.mark.parametrize("damage", [_truncate, lambda p: p.write_bytes(b"\x00not a model" * 8)],
                         ids=["truncated", "garbage"])
def test_corrupt_export_is_one_line_naming_the_file(tmp_path, kind, suffix, expected, damage):
    torch.manual_seed(4)
    model = Path(export(Mlp(), tmp_path / f"m{suffix}", kind, sidecar_mapping()))
    damage(model)
    with pytest.raises(CheckpointFileError) as error:
        load_policy(str(model))
    message = str(error.value)
    assert message.startswith(f"{model}: {expected}, but ") and "truncated or corrupt" in message
    assert "\n" not in message and len(message) < 400
