"""A LeRobot 0.4.4 policy config from a type name and ``key=value`` overrides.

Values are parsed as YAML scalars/lists (``10``, ``1e-4``, ``null``, ``[1, 2]``) and converted
to the field's declared type by draccus, the parser lerobot-train itself uses; the config class
then validates the combination (e.g. ``n_action_steps <= chunk_size``) on construction.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable
from typing import Any

import yaml

from sim2real_trainer.errors import PolicyConfigError, UnknownPolicyTypeError

# Fields the trainer sets itself (features come from the dataset, the device from --device).
_RESERVED = ("type", "device", "input_features", "output_features", "pretrained_path", "push_to_hub")


def policy_types() -> list[str]:
    from lerobot.configs.policies import PreTrainedConfig

    import lerobot.policies  # noqa: F401  (registers every policy config class)

    return sorted(PreTrainedConfig.get_known_choices())


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["chunk_size=10"]`` -> ``{"chunk_size": "10"}``; the last one wins."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PolicyConfigError(f"expected a policy config override as key=value, got {item!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def make_policy_config(policy_type: str, overrides: dict[str, str], *, device: str) -> Any:
    """The ``PreTrainedConfig`` subclass of ``policy_type`` with ``overrides`` applied."""
    import draccus
    from lerobot.configs.policies import PreTrainedConfig

    if policy_type not in policy_types():
        raise UnknownPolicyTypeError(policy_type, policy_types())
    config_class = PreTrainedConfig.get_choice_class(policy_type)
    hints = typing.get_type_hints(config_class)
    settable = sorted(f.name for f in dataclasses.fields(config_class) if f.init and f.name not in _RESERVED)
    values: dict[str, Any] = {}
    for key, raw in overrides.items():
        if key not in settable:
            raise PolicyConfigError(f"{policy_type} config has no settable field {key!r}; "
                                    f"fields: {', '.join(settable)}")
        try:
            values[key] = draccus.decode(hints[key], yaml.safe_load(raw) if raw else raw)
        except (draccus.utils.DecodingError, yaml.YAMLError) as err:
            raise PolicyConfigError(f"{policy_type} config field {key}={raw!r}: {err}") from None
    try:
        return config_class(device=device, push_to_hub=False, **values)
    except (ValueError, TypeError) as err:
        raise PolicyConfigError(f"{policy_type} config: {err}") from None
