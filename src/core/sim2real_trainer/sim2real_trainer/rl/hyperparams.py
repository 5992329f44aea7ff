"""PPO presets, rl-zoo style: a YAML mapping preset name -> settings, named by path or found as
``rl/<env id>.yaml`` in an installed robot's config folder::

    default:                  # the notebook's set
      n_envs: 8
      normalize: true         # VecNormalize (observations and rewards), saved with the model; or
                              # its arguments, e.g. {norm_obs: true, norm_reward: false, clip_obs: 5.0}
      n_timesteps: 2000000
      vec_env: humanoid.walk.batched_env:make_batched   # factory(env_id, n_envs, seed, **env_kwargs) -> VecEnv;
                                                        # default: DummyVecEnv
      env_kwargs: {reward: {forward_velocity: 5.0}}     # keywords of the env (gymnasium.make(env_id, **env_kwargs))
      policy: MlpPolicy       # default MlpPolicy
      learning_rate: 3.0e-4   # ... and any other keyword of stable_baselines3.PPO
      policy_kwargs: {net_arch: [128, 128], activation_fn: ReLU}   # activation_fn: a torch.nn class

Without a file: SB3's PPO defaults on one env. Settings are checked against the signatures of
PPO, VecNormalize and the policy class: an unknown key or a value of the wrong type is a
one-line ConfigError naming the file, the preset and the key. The keywords the command sets
(``seed``: --seed, ``device``: --device, ...) are not preset settings.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim2real_common.config_files import load_yaml, resolve_config
from sim2real_common.errors import ConfigError, did_you_mean

OWN_KEYS = ("n_envs", "normalize", "n_timesteps", "vec_env", "policy", "env_kwargs")
SET_BY_COMMAND = {"env": "the env id", "seed": "--seed", "device": "--device", "verbose": "the command",
                  "tensorboard_log": "the command (<output>/tensorboard)", "_init_setup_model": "the command"}
CLASS_KEYWORDS = {"activation_fn": "torch.nn", "optimizer_class": "torch.optim"}  # policy_kwargs: class by name
NO_FILE = "<no presets file>"


@dataclass(frozen=True)
class Preset:
    name: str
    source: str  # the file ('' = SB3's defaults)
    n_envs: int = 1
    normalize: bool | dict[str, Any] = False  # True, or the keywords of VecNormalize
    n_timesteps: int = 1_000_000
    vec_env: str = ""
    policy: str = "MlpPolicy"
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # the env's keywords, for training, test and layout
    ppo: dict[str, Any] = field(default_factory=dict)  # keywords of stable_baselines3.PPO, as written

    def settings(self) -> dict[str, Any]:
        """The preset as its file spells it (``parse_preset`` reads it back to an equal Preset)."""
        own = {"n_envs": self.n_envs, "normalize": self.normalize, "n_timesteps": self.n_timesteps,
               "policy": self.policy}
        return {**own, **({"vec_env": self.vec_env} if self.vec_env else {}),
                **({"env_kwargs": self.env_kwargs} if self.env_kwargs else {}), **self.ppo}

    def ppo_arguments(self) -> dict[str, Any]:
        """``PPO(policy, env, **ppo_arguments())``: the keywords with policy_kwargs' class names resolved."""
        arguments = dict(self.ppo)
        if "policy_kwargs" in arguments:
            arguments["policy_kwargs"] = {key: _class(key, value) if key in CLASS_KEYWORDS else value
                                          for key, value in (arguments["policy_kwargs"] or {}).items()}
        return arguments


def ppo_keywords() -> list[str]:
    from stable_baselines3 import PPO

    return [name for name in inspect.signature(PPO.__init__).parameters
            if name not in ("self", "policy", *SET_BY_COMMAND)]


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
            raise ConfigError(NO_FILE, name, "no presets file for this env: only 'default' "
                              "(SB3's PPO defaults) exists; pass --hyperparams")
        return Preset(name=name, source="")
    data = load_yaml(path)
    if name not in data:
        raise ConfigError(path, name, f"no such preset{did_you_mean(name, list(data))}; presets: {', '.join(data)}")
    return parse_preset(data[name], name=name, source=str(path.resolve()))


def parse_preset(raw: Any, *, name: str, source: str) -> Preset:
    """Validate one preset's settings (a mapping) and make the Preset."""
    where = source or NO_FILE
    if not isinstance(raw, dict):
        raise ConfigError(where, name, f"expected a mapping of settings, found {raw!r}")
    keywords = _signature("stable_baselines3:PPO")
    accepted = [*OWN_KEYS, *ppo_keywords()]
    for key, value in raw.items():
        if key in SET_BY_COMMAND:
            raise ConfigError(where, f"{name}.{key}", f"set by {SET_BY_COMMAND[key]}, not by a preset")
        if key not in accepted:
            raise ConfigError(where, f"{name}.{key}", f"unknown setting{did_you_mean(key, accepted)}; accepted: "
                                                      f"{', '.join(OWN_KEYS)} and the keywords of stable_baselines3.PPO")
        if key not in OWN_KEYS:
            _check_type(where, f"{name}.{key}", value, keywords[key])
    policy = raw.get("policy", "MlpPolicy")
    own = {
        "n_envs": _positive(where, f"{name}.n_envs", raw.get("n_envs", 1)),
        "n_timesteps": _positive(where, f"{name}.n_timesteps", raw.get("n_timesteps", 1_000_000)),
        "normalize": _normalize(where, f"{name}.normalize", raw.get("normalize", False)),
        "vec_env": _factory(where, f"{name}.vec_env", raw.get("vec_env") or ""),
        "policy": _policy(where, f"{name}.policy", policy),
        "env_kwargs": _mapping(where, f"{name}.env_kwargs", raw.get("env_kwargs") or {}),
    }
    ppo = {k: v for k, v in raw.items() if k not in OWN_KEYS}
    if ppo.get("policy_kwargs") is not None:
        _policy_kwargs(where, f"{name}.policy_kwargs", ppo["policy_kwargs"], own["policy"])
    return Preset(name=name, source=source, ppo=ppo, **own)


# -- checks ----------------------------------------------------------------------------------
def _signature(reference: str) -> dict[str, inspect.Parameter]:
    module, _, attribute = reference.partition(":")
    return dict(inspect.signature(getattr(importlib.import_module(module), attribute).__init__).parameters)


def _check_type(where: str, key: str, value: Any, parameter: inspect.Parameter) -> None:
    """The type a keyword's default has (bool, int, float, mapping); schedules and None pass."""
    default = parameter.default
    if value is None or default is inspect.Parameter.empty:
        return
    if isinstance(default, bool):
        ok, expected = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, expected = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif key.endswith("_kwargs"):
        ok, expected = isinstance(value, dict), "a mapping"
    else:
        return
    if not ok:
        hint = " (YAML reads 3e-4 as text: write 3.0e-4)" if isinstance(value, str) and expected == "a number" else ""
        raise ConfigError(where, key, f"expected {expected}, found {value!r}{hint}")


def _positive(where: str, key: str, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(where, key, f"expected a positive integer, found {value!r}")
    return value


def _normalize(where: str, key: str, value: Any) -> bool | dict[str, Any]:
    if isinstance(value, bool):
        return value
    if not isinstance(value, dict):
        raise ConfigError(where, key, f"expected true, false or a mapping of VecNormalize keywords, found {value!r}")
    parameters = _signature("stable_baselines3.common.vec_env:VecNormalize")
    accepted = [name for name in parameters if name not in ("self", "venv", "training")]
    for name, item in value.items():
        if name not in accepted:
            raise ConfigError(where, f"{key}.{name}", f"unknown VecNormalize keyword{did_you_mean(name, accepted)}; "
                                                      f"accepted: {', '.join(accepted)}")
        _check_type(where, f"{key}.{name}", item, parameters[name])
    return dict(value)


def _mapping(where: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(where, key, f"expected a mapping of the env's keywords, found {value!r}")
    return dict(value)


def _factory(where: str, key: str, value: Any) -> str:
    if value and (not isinstance(value, str) or ":" not in value):
        raise ConfigError(where, key, "expected \"module:factory\" (factory(env_id, n_envs, seed, **env_kwargs) "
                                      f"-> VecEnv), found {value!r}")
    return value


def _policy(where: str, key: str, value: Any) -> str:
    from stable_baselines3 import PPO

    if value not in PPO.policy_aliases:
        raise ConfigError(where, key, f"unknown policy {value!r}{did_you_mean(str(value), list(PPO.policy_aliases))}; "
                                      f"accepted: {', '.join(PPO.policy_aliases)}")
    return value


def _policy_kwargs(where: str, key: str, value: Any, policy: str) -> None:
    from stable_baselines3 import PPO

    parameters = dict(inspect.signature(PPO.policy_aliases[policy].__init__).parameters)
    accepted = [name for name in parameters if name not in ("self", "observation_space", "action_space", "lr_schedule")]
    for name, item in value.items():
        if name not in accepted:
            raise ConfigError(where, f"{key}.{name}", f"unknown keyword of {policy}{did_you_mean(name, accepted)}; "
                                                      f"accepted: {', '.join(accepted)}")
        if name in CLASS_KEYWORDS:
            _class(name, item, where, f"{key}.{name}")


def _class(name: str, value: Any, where: str = NO_FILE, key: str = "") -> Any:
    """``activation_fn: ReLU`` -> torch.nn.ReLU (``optimizer_class``: torch.optim); classes pass."""
    if not isinstance(value, str):
        return value
    module = importlib.import_module(CLASS_KEYWORDS[name])
    found = getattr(module, value.rpartition(".")[2], None)
    if not isinstance(found, type):
        short = value.rpartition(".")[2]
        classes = [n for n, v in vars(module).items() if isinstance(v, type) and not n.startswith("_")]
        same = [n for n in classes if n.lower() == short.lower()]  # ReLU for relu
        hint = f" (did you mean {same[0]!r}?)" if same else did_you_mean(short, classes)
        raise ConfigError(where, key or name, f"no class {value!r} in {module.__name__}{hint}")
    return found
