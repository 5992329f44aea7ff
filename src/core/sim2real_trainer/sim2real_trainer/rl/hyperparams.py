"""PPO presets, rl-zoo style: a YAML mapping preset name -> settings, named by path or found as
``rl/<env id>.yaml`` in an installed robot's config folder::

    default:                  # the notebook's set
      n_envs: 8
      normalize: true         # VecNormalize (observations and rewards), saved with the model
      n_timesteps: 2000000
      vec_env: humanoid.walk.batched_env:make_batched   # factory(env_id, n_envs, seed); default DummyVecEnv
      learning_rate: 3.0e-4   # ... and any other keyword of stable_baselines3.PPO
      policy_kwargs: {net_arch: [128, 128]}

Without a file: SB3's PPO defaults on one env.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim2real_common.config_files import load_yaml, resolve_config
from sim2real_common.errors import ConfigError, did_you_mean

OWN_KEYS = ("n_envs", "normalize", "n_timesteps", "vec_env")


@dataclass(frozen=True)
class Preset:
    name: str
    source: str  # the file ('' = SB3's defaults)
    n_envs: int = 1
    normalize: bool = False
    n_timesteps: int = 1_000_000
    vec_env: str = ""
    ppo: dict[str, Any] = field(default_factory=dict)  # keywords of stable_baselines3.PPO


def ppo_keywords() -> list[str]:
    from stable_baselines3 import PPO

    return [name for name in inspect.signature(PPO.__init__).parameters if name not in ("self", "policy", "env")]


def preset_file(env_id: str, given: str | Path | None) -> Path | None:
    """The presets file: ``given``, else ``rl/<env id>.yaml`` of an installed robot, else None."""
    if given:
        return resolve_config(given)
    try:
        return resolve_config(f"rl/{env_id}.yaml")
    except FileNotFoundError:
        return None


def load_preset(path: Path | None, name: str) -> Preset:
    if path is None:
        if name != "default":
            raise ConfigError("<no presets file>", name, "no presets file for this env: only 'default' "
                              "(SB3's PPO defaults) exists; pass --hyperparams")
        return Preset(name=name, source="")
    data = load_yaml(path)
    if name not in data:
        raise ConfigError(path, name, f"no such preset{did_you_mean(name, list(data))}; presets: {', '.join(data)}")
    raw = data[name]
    if not isinstance(raw, dict):
        raise ConfigError(path, name, f"expected a mapping of settings, found {raw!r}")
    accepted = [*OWN_KEYS, *ppo_keywords()]
    for key in raw:
        if key not in accepted:
            raise ConfigError(path, f"{name}.{key}", f"unknown setting{did_you_mean(key, accepted)}; accepted: "
                                                     f"{', '.join(OWN_KEYS)} and the keywords of stable_baselines3.PPO")
    own = {k: raw[k] for k in OWN_KEYS if k in raw}
    return Preset(name=name, source=str(path), ppo={k: v for k, v in raw.items() if k not in OWN_KEYS}, **own)
