"""Find and parse the workspace's YAML config files (top-level config/, installed by `so101`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from so101_common.errors import ConfigError, did_you_mean


def config_dir() -> Path:
    """The config/ folder: $SO101_WORKSPACE/config, else the so101 package's share folder."""
    workspace = os.environ.get("SO101_WORKSPACE")
    if workspace and (Path(workspace) / "config").is_dir():
        return Path(workspace) / "config"
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("so101")) / "config"
    except (ImportError, LookupError) as err:
        raise FileNotFoundError(
            "cannot find the workspace config/ folder: set SO101_WORKSPACE or source "
            "install/setup.bash (scripts/env.sh)"
        ) from err


def resolve_config(path_or_name: str | Path) -> Path:
    """An explicit path if it exists, else a file name looked up in config_dir()."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    candidate = config_dir() / path
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(f"config file not found: {path_or_name} (also looked in {config_dir()})")


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML mapping; malformed YAML or a non-mapping is a ConfigError naming the file."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as err:
        raise ConfigError(path, "<file>", f"malformed YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(path, "<file>", f"expected a mapping at top level, found {type(data).__name__}")
    return data


def check_keys(path: Path, where: str, data: dict[str, Any], accepted: list[str] | tuple[str, ...],
               what: str = "") -> None:
    """Reject the first key of ``data`` not in ``accepted``: a ConfigError naming the file, the key,
    the closest accepted key and every accepted one (``what`` says whose keys they are)."""
    for key in data:
        if key not in accepted:
            name = f"{where}.{key}" if where else str(key)
            raise ConfigError(path, name, f"unknown key{did_you_mean(key, accepted)}; accepted"
                                          f"{' for ' + what if what else ''}: {', '.join(accepted)}")
