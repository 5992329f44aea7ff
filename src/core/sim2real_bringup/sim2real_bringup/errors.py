"""Errors the `sim2real` command reports as one message (exit code 2), without a traceback."""

from __future__ import annotations

from pathlib import Path


class So101Error(Exception):
    """Base class: something the user can fix (a file, an argument, a missing build)."""


class GraphError(So101Error):
    """A graph description file is malformed: names the file and the field."""

    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path = Path(path)
        self.field = field
        self.problem = problem


class ArgumentError(So101Error):
    """A launch argument is unknown or its value is not accepted."""


class LaunchError(So101Error):
    """The graph cannot be started (missing package, executable or parameter file)."""
