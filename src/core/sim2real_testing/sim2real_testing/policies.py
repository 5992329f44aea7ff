"""Tiny trained policies for tests (LeRobot 0.4.4, Stable-Baselines3; CPU, no downloads).

``train_tiny_act`` trains ACT on a tiny dataset for a few steps through LeRobot's own training
entry point (``lerobot_train.train``), so the checkpoint layout, config and saved pre/post
processors are exactly what ``lerobot-train`` writes. ``train_tiny_ppo`` trains PPO on
``PanReachEnv`` and saves it with its layout sidecar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim2real_testing.datasets import REPO_ID
from sim2real_testing.envs import LAYOUT, PanReachEnv


def train_tiny_act(
    dataset_root: str | Path,
    output_dir: str | Path,
    *,
    steps: int = 3,
    chunk_size: int = 10,
    n_action_steps: int = 10,
    dim_model: int = 64,
    dim_feedforward: int = 128,
    n_heads: int = 2,
    n_encoder_layers: int = 1,
    n_decoder_layers: int = 1,
    vision_backbone: str = "resnet18",
    batch_size: int = 4,
    seed: int = 0,
) -> Path:
    """Train ACT for ``steps`` on CPU with ``lerobot_train.train``; return the pretrained_model dir.

    ``output_dir`` must not exist (lerobot-train refuses to overwrite). The backbone starts from
    random weights (``pretrained_backbone_weights=None``): nothing is downloaded.
    """
    from lerobot.configs.default import DatasetConfig
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.scripts.lerobot_train import train
    from lerobot.utils.constants import CHECKPOINTS_DIR, LAST_CHECKPOINT_LINK, PRETRAINED_MODEL_DIR

    policy = ACTConfig(
        device="cpu",
        push_to_hub=False,
        chunk_size=chunk_size,
        n_action_steps=n_action_steps,
        dim_model=dim_model,
        dim_feedforward=dim_feedforward,
        n_heads=n_heads,
        n_encoder_layers=n_encoder_layers,
        n_decoder_layers=n_decoder_layers,
        vision_backbone=vision_backbone,
        pretrained_backbone_weights=None,
    )
    config = TrainPipelineConfig(
        dataset=DatasetConfig(repo_id=REPO_ID, root=str(dataset_root), video_backend="torchcodec"),
        policy=policy,
        output_dir=Path(output_dir),
        seed=seed,
        num_workers=0,
        batch_size=batch_size,
        steps=steps,
        save_freq=steps,
        eval_freq=0,
        log_freq=0,
    )
    with _root_logging_preserved():
        train(config)
    return Path(output_dir) / CHECKPOINTS_DIR / LAST_CHECKPOINT_LINK / PRETRAINED_MODEL_DIR


@contextmanager
def _root_logging_preserved() -> Iterator[None]:
    """lerobot_train.train() replaces the root logger's handlers (init_logging); put them back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def train_tiny_ppo(path: Path, *, steps: int = 256, sidecar: bool = True):
    """A tiny PPO on the pan-reach env, saved to ``path`` (.zip); with ``sidecar`` also the
    layout YAML next to it so ``load_policy(path)`` needs no options. Returns (path, model)."""
    import yaml
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", PanReachEnv(), n_steps=128, batch_size=64, n_epochs=2, seed=0,
                device="cpu", policy_kwargs={"net_arch": [16]})
    model.learn(total_timesteps=steps)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    if sidecar:
        path.with_suffix(".yaml").write_text(yaml.safe_dump(LAYOUT))
    return path, model
