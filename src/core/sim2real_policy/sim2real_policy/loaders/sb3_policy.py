"""Serve a Stable-Baselines3 ``.zip`` (PPO, SAC, TD3, A2C, DDPG, DQN) through the Policy interface.

The algorithm is read from the zip's ``data`` (parameters only one algorithm saves) unless the
layout names it; the observation vector and the action mapping come from the layout (sb3_layout.py).
A model trained in VecNormalize gets its observations normalised with the saved statistics
(``vecnormalize.pkl`` next to the model, or the file the layout names; sb3_normalize.py).
Prediction is deterministic.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from sim2real_common.errors import brief
from sim2real_policy.errors import CheckpointFileError, PolicyLoadError
from sim2real_policy.interface import Feature, Observation
from sim2real_policy.loaders.errors import SidecarError
from sim2real_policy.loaders.observations import check_observation
from sim2real_policy.loaders.sb3_layout import STATE, Sb3Layout, layout_from_mapping
from sim2real_policy.loaders.sb3_normalize import load_vecnormalize, vecnormalize_path
from sim2real_policy.loaders.yaml_fields import read_mapping

ALGORITHMS = ("PPO", "SAC", "TD3", "A2C", "DDPG", "DQN")
LAYOUT_ARGUMENT = Path("<layout argument>")
# Loading for inference only: schedules are training state and may not unpickle across versions.
_INFERENCE_ONLY = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0, "clip_range": lambda _: 0.0}


class Sb3Policy:
    """Implements ``Policy`` for a loaded SB3 model. ``vecnormalize``: the model's VecNormalize
    pickle, if it was trained in one. Its only state is what the layout's generated inputs need:
    the last action and the ticks since the reset (the gait clock)."""

    def __init__(self, model: Any, layout: Sb3Layout, vecnormalize: Path | None = None) -> None:
        self.model = model
        self.layout = layout
        _check_spaces(model, layout)
        self.normalizer = load_vecnormalize(vecnormalize, model.observation_space.shape) if vecnormalize else None
        self.input_features = layout.input_features
        self.output_features = (Feature("action", (layout.action.n_joints,)),)
        self.reset()

    def reset(self) -> None:
        """A new episode: no last action, the gait clock at 0."""
        self._last_action = np.zeros(len(self.layout.action.joints))
        self._ticks = 0

    def select_action(self, observation: Observation) -> np.ndarray:
        check_observation(observation, self.input_features)
        vector = self.layout.observation_vector(observation, self._last_action, self._ticks)
        vector = vector.astype(self.model.observation_space.dtype)
        if self.normalizer is not None:
            vector = self.normalizer(vector)
        action, _ = self.model.predict(vector, deterministic=True)
        self._last_action, self._ticks = np.asarray(action, dtype=np.float64).reshape(-1), self._ticks + 1
        return self.layout.action.apply(action, observation.get(STATE))


def load_sb3_policy(path: Path, *, layout: dict[str, Any] | None = None, device: str = "cpu") -> Sb3Policy:
    """``layout`` (a mapping, see sb3_layout.py) if given, else the sidecar ``<name>.yaml``."""
    if layout is not None:
        parsed = layout_from_mapping(layout, LAYOUT_ARGUMENT, algorithms=ALGORITHMS)
    else:
        sidecar = path.with_suffix(".yaml")
        data = read_mapping(sidecar, what="observation layout and action mapping; or pass layout=")
        parsed = layout_from_mapping(data, sidecar, algorithms=ALGORITHMS)
    algorithm = parsed.algorithm or detect_algorithm(path)
    _saved_data(path)  # a zip with a readable 'data' entry, also when the layout names the algorithm
    vecnormalize = vecnormalize_path(path, parsed)
    import stable_baselines3

    try:
        model = getattr(stable_baselines3, algorithm).load(path, device=device, custom_objects=_INFERENCE_ONLY)
    except (zipfile.BadZipFile, EOFError, pickle.UnpicklingError, RuntimeError) as err:
        # torch.load of a truncated policy.pth inside the zip: RuntimeError "PytorchStreamReader failed ..."
        raise CheckpointFileError(path, f"a Stable-Baselines3 {algorithm} save file", brief(err)) from err
    return Sb3Policy(model, parsed, vecnormalize)


def detect_algorithm(path: Path) -> str:
    """The algorithm that saved ``path``, from parameters only that algorithm stores."""
    data = _saved_data(path)
    if "exploration_fraction" in data:
        return "DQN"
    if "target_entropy" in data:
        return "SAC"
    if "policy_delay" in data:  # TD3 family; DDPG is TD3 without delay and target smoothing
        return "DDPG" if data["policy_delay"] == 1 and data.get("target_noise_clip") == 0.0 else "TD3"
    if "clip_range" in data:
        return "PPO"
    if "gae_lambda" in data:
        return "A2C"
    raise PolicyLoadError(
        f"{path}: cannot tell which SB3 algorithm saved it; name it with algorithm: "
        f"({', '.join(ALGORITHMS)}) in the layout"
    )


def _saved_data(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("data"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, EOFError) as err:
        raise PolicyLoadError(
            f"{path} is not a Stable-Baselines3 save file (no readable 'data' entry: {brief(err)}); "
            "if it is one, it is truncated or corrupt: copy it again"
        ) from err


def _check_spaces(model: Any, layout: Sb3Layout) -> None:
    obs_space, act_space = model.observation_space, model.action_space
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise PolicyLoadError(f"SB3 model observation space {obs_space}: only flat Box spaces are served")
    if obs_space.shape[0] != layout.observation_dims:
        raise SidecarError(
            layout.source,
            "observation",
            f"{obs_space.shape[0]} dims in total (the model's observation space)",
            f"{layout.observation_dims}",
        )
    action_dims = 1 if isinstance(act_space, gym.spaces.Discrete) else int(np.prod(act_space.shape))
    if action_dims != len(layout.action.joints):
        raise SidecarError(
            layout.source,
            "action.joints",
            f"{action_dims} joints (one per model action component, action space {act_space})",
            repr(list(layout.action.joints)),
        )
