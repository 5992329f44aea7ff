"""Configuration errors: each names the file, the field, what was expected and what was found."""

from __future__ import annotations

from pathlib import Path


class ConfigError(ValueError):
    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path = Path(path)
        self.field = field
        self.problem = problem
