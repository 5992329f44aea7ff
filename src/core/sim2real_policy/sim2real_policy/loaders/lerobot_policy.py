"""Serve a LeRobot 0.4.4 checkpoint (any policy type LeRobot knows) through the Policy interface.

The checkpoint's own pre/post processors (normalisation stats included) are loaded with it;
action chunks are queued by the policy itself, and ``reset()`` clears that queue.
"""

from __future__ import annotations

from pathlib import Path

import draccus
import numpy as np
import torch
from lerobot.configs.policies import PreTrainedConfig
from lerobot.configs.types import NormalizationMode, PolicyFeature
from lerobot.policies.factory import get_policy_class, make_pre_post_processors
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.policies.utils import prepare_observation_for_inference
from lerobot.processor import (
    NormalizerProcessorStep,
    PolicyProcessorPipeline,
    TokenizerProcessorStep,
    UnnormalizerProcessorStep,
)

from safetensors import SafetensorError

from sim2real_common.errors import brief
from sim2real_policy.errors import CheckpointFileError, PolicyLoadError
from sim2real_policy.interface import Feature, Observation
from sim2real_policy.loaders.lerobot_checkpoint import CONFIG, WEIGHTS, find_pretrained_dir
from sim2real_policy.loaders.observations import check_observation, is_image, served_feature

CHUNK_FROM_ONE_OBSERVATION = ("act", "pi0", "pi05", "smolvla")
_REQUIRED_STATS = {
    NormalizationMode.IDENTITY: (),
    NormalizationMode.MEAN_STD: ("mean", "std"),
    NormalizationMode.MIN_MAX: ("min", "max"),
    NormalizationMode.QUANTILES: ("q01", "q99"),
    NormalizationMode.QUANTILE10: ("q10", "q90"),
}


class LeRobotPolicy:
    """A loaded LeRobot policy with its checkpoint's processors; implements ``Policy``.

    ``normalization_stats_present`` maps each input/output feature to whether the loaded
    processor holds the statistics its normalisation mode needs (IDENTITY needs none and counts
    as present). LeRobot's normaliser silently passes a feature without stats through, so the
    start-up check should refuse a policy with a False here.
    """

    def __init__(
        self,
        policy: PreTrainedPolicy,
        preprocessor: PolicyProcessorPipeline,
        postprocessor: PolicyProcessorPipeline,
        *,
        device: str = "cpu",
        task: str | None = None,
    ) -> None:
        self.policy = policy
        self.preprocessor = preprocessor
        self.postprocessor = postprocessor
        self.device = torch.device(device)
        self.task = task
        config = policy.config
        self.input_features = tuple(
            served_feature(k, tuple(f.shape)) for k, f in config.input_features.items()
        )
        self.output_features = tuple(Feature(k, tuple(f.shape)) for k, f in config.output_features.items())
        self.normalization_stats_present: dict[str, bool] = {
            **_stats_present(preprocessor, NormalizerProcessorStep, config.input_features),
            **_stats_present(postprocessor, UnnormalizerProcessorStep, config.output_features),
        }

    def reset(self) -> None:
        self.policy.reset()
        self.preprocessor.reset()
        self.postprocessor.reset()

    def _batch(self, observation: Observation) -> dict:
        check_observation(observation, self.input_features)
        frame = {
            f.name: np.array(observation[f.name], dtype=np.uint8 if is_image(f.name) else np.float32)
            for f in self.input_features
        }
        return self.preprocessor(prepare_observation_for_inference(frame, self.device, self.task))

    def select_action(self, observation: Observation) -> np.ndarray:
        with torch.inference_mode():
            action = self.postprocessor(self.policy.select_action(self._batch(observation)))
        return action.squeeze(0).numpy()


class LeRobotChunkingPolicy(LeRobotPolicy):
    """A LeRobot policy whose ``predict_action_chunk`` works from one observation (ACT, pi0,
    pi0.5, SmolVLA): also a ``ChunkingPolicy``, so the realtime scheduler can compute the next
    chunk in the background. ``select_action`` still serves from the policy's own queue and
    keeps ``last_chunk`` (the chunk being played, denormalised) for whisker views.
    """

    last_chunk: np.ndarray | None = None

    def reset(self) -> None:
        super().reset()
        self.last_chunk = None

    def select_action(self, observation: Observation) -> np.ndarray:
        queue = getattr(self.policy, "_action_queue", None)
        refilled = queue is not None and len(queue) == 0
        with torch.inference_mode():
            action = self.postprocessor(self.policy.select_action(self._batch(observation)))
            if refilled and len(queue) > 0:  # the policy just predicted a chunk: keep it for whiskers
                rest = self.postprocessor(torch.stack(list(queue), dim=1))
                self.last_chunk = torch.cat([action.unsqueeze(1), rest], dim=1).squeeze(0).numpy()
        return action.squeeze(0).numpy()

    def predict_chunk(self, observation: Observation) -> np.ndarray:
        """The next ``n_action_steps`` actions (denormalised), shape (n, action_dim)."""
        with torch.inference_mode():
            chunk = self.postprocessor(self.policy.predict_action_chunk(self._batch(observation)))
        steps = getattr(self.policy.config, "n_action_steps", chunk.shape[1])
        return chunk.squeeze(0)[:steps].numpy()


def load_lerobot_policy(path: str | Path, *, device: str = "cpu", task: str | None = None) -> LeRobotPolicy:
    """Load a checkpoint folder or a lerobot-train output folder (its latest checkpoint).

    ``task`` is the language instruction, required by policies whose processor tokenises one.
    """
    pretrained = find_pretrained_dir(path)  # also checks that its files are complete and readable
    try:
        config = PreTrainedConfig.from_pretrained(pretrained)
    except draccus.utils.ParsingError as err:
        raise PolicyLoadError(f"{pretrained / CONFIG}: not a LeRobot 0.4.4 policy config: {brief(err)}") from err
    config.device = device
    if hasattr(config, "pretrained_backbone_weights"):  # ACT, Diffusion: ImageNet weights by default
        config.pretrained_backbone_weights = None  # model.safetensors holds the trained ones: no download
    try:
        policy_class = get_policy_class(config.type)
    except ValueError as err:
        raise PolicyLoadError(f"{pretrained}: LeRobot 0.4.4 knows no policy type {config.type!r}") from err
    try:
        policy = policy_class.from_pretrained(pretrained, config=config)
    except SafetensorError as err:  # find_pretrained_dir read its header; the tensors did not load
        raise CheckpointFileError(pretrained / WEIGHTS, f"the {config.type} weights", brief(err)) from err
    try:
        preprocessor, postprocessor = make_pre_post_processors(
            config,
            pretrained_path=str(pretrained),
            preprocessor_overrides={"device_processor": {"device": device}},
        )
    except SafetensorError as err:
        raise CheckpointFileError(pretrained, "the processors' statistics", brief(err)) from err
    if task is None and any(isinstance(s, TokenizerProcessorStep) for s in preprocessor.steps):
        raise PolicyLoadError(
            f"{pretrained}: policy type {config.type!r} reads a task instruction; pass task=..."
        )
    kind = LeRobotChunkingPolicy if config.type in CHUNK_FROM_ONE_OBSERVATION else LeRobotPolicy
    if getattr(config, "temporal_ensemble_coeff", None) is not None:
        kind = LeRobotPolicy  # ACT's temporal ensembling predicts every tick: no chunk queue
    return kind(policy, preprocessor, postprocessor, device=device, task=task)


def _stats_present(
    pipeline: PolicyProcessorPipeline, step_type: type, features: dict[str, PolicyFeature]
) -> dict[str, bool]:
    steps = [s for s in pipeline.steps if isinstance(s, step_type)]
    return {key: any(_has_stats(step, key, feature) for step in steps) for key, feature in features.items()}


def _has_stats(
    step: NormalizerProcessorStep | UnnormalizerProcessorStep, key: str, feature: PolicyFeature
) -> bool:
    needed = _REQUIRED_STATS.get(step.norm_map.get(feature.type, NormalizationMode.IDENTITY))
    held = (step.stats or {}).get(key, {})
    return needed is not None and all(name in held for name in needed)
