"""Find and parse YAML config files (a path, or a name in an installed robot's config folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim2real_common.errors import ConfigError, did_you_mean


def resolve_config(path_or_name: str | Path) -> Path:
    """An explicit path if it exists, else a file name (``so101.yaml``, ``contracts/x.yaml``)
    looked up in the config folders of the installed robots."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    from sim2real_common.registry import config_dirs

    folders = config_dirs()
    for folder in folders:
        if (folder / path).is_file():
            return folder / path
    looked = ", ".join(str(f) for f in folders) or "no robot package is installed"
    raise FileNotFoundError(f"config file not found: {path_or_name} (also looked in {looked})")


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
