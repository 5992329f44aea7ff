"""Read YAML sidecars field by field; every problem is a SidecarError naming file, field,
what was expected and what was found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim2real_policy.loaders.errors import SidecarError

_REQUIRED = object()


def read_mapping(path: Path, *, what: str) -> dict[str, Any]:
    """The top-level mapping of a YAML file; ``what`` says what the file is for (in errors)."""
    if not path.is_file():
        raise SidecarError(path, "<file>", f"a YAML sidecar ({what})", "no such file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SidecarError(path, "<file>", "valid YAML", f"a syntax error: {err}") from err
    if not isinstance(data, dict):
        raise SidecarError(path, "<file>", "a mapping at top level", type(data).__name__)
    return data


def check_keys(data: dict[str, Any], allowed: tuple[str, ...], path: Path, where: str) -> None:
    """Reject unknown keys (typos otherwise fall back to defaults silently)."""
    for key in data:
        if key not in allowed:
            raise SidecarError(
                path, f"{where}{key}", f"one of {', '.join(allowed)}", f"unknown key {key!r}"
            )


def field(
    data: dict[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    path: Path,
    where: str = "",
    default: Any = _REQUIRED,
) -> Any:
    """``data[key]`` checked against ``kind`` (bool is never an int or float here)."""
    name = f"{where}{key}"
    if key not in data:
        if default is _REQUIRED:
            raise SidecarError(path, name, _kind_name(kind), "nothing (missing)")
        return default
    value = data[key]
    if (isinstance(value, bool) and bool not in _kinds(kind)) or not isinstance(value, kind):
        raise SidecarError(path, name, _kind_name(kind), repr(value))
    return value


def int_list(value: Any, path: Path, name: str, *, positive: bool = False) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and (v > 0 or not positive) for v in value
        )
    ):
        expected = "a non-empty list of positive integers" if positive else "a non-empty list of integers"
        raise SidecarError(path, name, expected, repr(value))
    return tuple(value)


def number_list(value: Any, path: Path, name: str, length: int) -> list[float]:
    """A list of ``length`` numbers (a single number stands for all of them)."""
    if _is_number(value):
        return [float(value)] * length
    if not isinstance(value, list) or len(value) != length or not all(_is_number(v) for v in value):
        raise SidecarError(path, name, f"a number or a list of {length} numbers", repr(value))
    return [float(v) for v in value]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number"}
    return " or ".join(names.get(k, k.__name__) for k in _kinds(kind))
