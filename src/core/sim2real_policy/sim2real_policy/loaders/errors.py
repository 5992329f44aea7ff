"""Errors raised by the loaders; each names the file or feature, what was expected and what was found."""

from __future__ import annotations

from pathlib import Path

from sim2real_policy.errors import PolicyError, PolicyLoadError


class SidecarError(PolicyLoadError):
    """A model's YAML sidecar (or a layout mapping given in code) is missing or malformed."""

    def __init__(self, path: Path | str, field: str, expected: str, found: str) -> None:
        super().__init__(f"{path}: {field}: expected {expected}, found {found}")
        self.path = Path(path)
        self.field = field
        self.expected = expected
        self.found = found


class ObservationError(PolicyError, ValueError):
    """An observation lacks a feature the policy reads, or carries it with the wrong shape/dtype."""
