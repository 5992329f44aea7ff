"""Export a LeRobot ACT checkpoint to ONNX plus its sidecar (no ROS).

The ONNX graph is ACT's network as ``ACTPolicy.predict_action_chunk`` runs it: normalised state /
environment state / camera images in, normalised action chunk (1, chunk_size, action_dim) out.
The sidecar carries the normalisation statistics of the checkpoint's own processors and
``n_action_steps``, so the ONNX loader serves the same actions as the PyTorch policy.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lerobot.configs.types import NormalizationMode, PolicyFeature
from lerobot.processor import NormalizerProcessorStep, PolicyProcessorPipeline, UnnormalizerProcessorStep
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_IMAGES, OBS_STATE

from sim2real_policy.errors import PolicyLoadError
from sim2real_policy.loaders.lerobot_checkpoint import find_pretrained_dir
from sim2real_policy.loaders.lerobot_policy import load_lerobot_policy
from sim2real_policy.loaders.normalization import MeanStd, MinMax, Normalization, stats_array
from sim2real_policy.loaders.observations import is_image
from sim2real_policy.loaders.sidecar import Sidecar, TensorSpec, sidecar_path, write_sidecar


class _ActNetwork(torch.nn.Module):
    """ACT's forward on positional inputs (ONNX wants tensors, not a batch dict)."""

    def __init__(self, model: torch.nn.Module, keys: list[str], image_keys: list[str]) -> None:
        super().__init__()
        self.model = model
        self.keys = keys
        self.image_keys = image_keys

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        batch = dict(zip(self.keys, inputs, strict=True))
        if self.image_keys:
            batch[OBS_IMAGES] = [batch[k] for k in self.image_keys]
        return self.model(batch)[0]


def export_act_onnx(checkpoint: str | Path, out_path: str | Path) -> tuple[Path, Path]:
    """Write ``out_path`` (ONNX) and its sidecar ``<out_path stem>.yaml``; return both paths.

    ``checkpoint``: a pretrained_model folder or a lerobot-train output folder (latest checkpoint).
    """
    pretrained = find_pretrained_dir(checkpoint)
    loaded = load_lerobot_policy(pretrained)
    config = loaded.policy.config
    if config.type != "act":
        raise PolicyLoadError(f"{pretrained}: ONNX export handles ACT checkpoints, this is {config.type!r}")
    if config.temporal_ensemble_coeff is not None:
        raise PolicyLoadError(f"{pretrained}: temporal ensembling is not supported by the ONNX export")
    keys = [k for k in (OBS_STATE, OBS_ENV_STATE) if k in config.input_features] + list(
        config.image_features
    )
    names = [k.replace(".", "_") for k in keys]
    network = _ActNetwork(loaded.policy.model, keys, list(config.image_features)).eval()
    example = tuple(torch.zeros(1, *config.input_features[k].shape) for k in keys)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            network,
            example,
            out_path,
            input_names=names,
            output_names=[ACTION],
            dynamo=True,
            external_data=False,
            verbose=False,
        )

    normalizer = _step(loaded.preprocessor, NormalizerProcessorStep, pretrained)
    unnormalizer = _step(loaded.postprocessor, UnnormalizerProcessorStep, pretrained)
    inputs = tuple(
        TensorSpec(
            name=name,
            feature=key,
            shape=tuple(config.input_features[key].shape),
            normalize=_normalization(normalizer, key, config.input_features[key], pretrained),
        )
        for name, key in zip(names, keys, strict=True)
    )
    action = config.output_features[ACTION]
    output = TensorSpec(
        name=ACTION,
        feature=ACTION,
        shape=(config.chunk_size, *action.shape),
        normalize=_normalization(unnormalizer, ACTION, action, pretrained),
    )
    sidecar = Sidecar(
        inputs=inputs,
        output=output,
        n_action_steps=config.n_action_steps,
        source={"policy_type": "act", "checkpoint": str(pretrained.resolve())},
    )
    return out_path, write_sidecar(sidecar_path(out_path), sidecar)


def _step(pipeline: PolicyProcessorPipeline, step_type: type, pretrained: Path):
    steps = [s for s in pipeline.steps if isinstance(s, step_type)]
    if len(steps) != 1:
        raise PolicyLoadError(
            f"{pretrained}: expected one {step_type.__name__} in its processor, found {len(steps)}"
        )
    return steps[0]


def _normalization(
    step: NormalizerProcessorStep | UnnormalizerProcessorStep,
    key: str,
    feature: PolicyFeature,
    pretrained: Path,
) -> Normalization | None:
    mode = step.norm_map.get(feature.type, NormalizationMode.IDENTITY)
    if mode == NormalizationMode.IDENTITY:
        return None
    stats = (step.stats or {}).get(key, {})
    image = is_image(key)
    if mode == NormalizationMode.MEAN_STD and {"mean", "std"} <= stats.keys():
        return MeanStd(
            mean=stats_array(stats["mean"], image=image), std=stats_array(stats["std"], image=image)
        )
    if mode == NormalizationMode.MIN_MAX and {"min", "max"} <= stats.keys():
        return MinMax(
            min=stats_array(stats["min"], image=image), max=stats_array(stats["max"], image=image)
        )
    raise PolicyLoadError(
        f"{pretrained}: {key} is normalised with {mode.value} but its processor holds stats "
        f"{sorted(stats) or 'none'}; the sidecar supports MEAN_STD (mean, std) and MIN_MAX (min, max)"
    )
