"""Errors of the policy package; messages say what was wrong and what is accepted."""

from __future__ import annotations

from pathlib import Path

from sim2real_common.errors import UserError


class PolicyError(UserError):
    """Base class of sim2real_policy errors."""


class PolicyLoadError(PolicyError, ValueError):
    """The policy spec names nothing we can load."""


class CheckpointFileError(PolicyLoadError):
    """A file of a checkpoint or export exists but cannot be read: truncated, corrupt, or not what
    its name says. Names the file and what it should be."""

    def __init__(self, path: Path | str, expected: str, problem: str) -> None:
        super().__init__(f"{path}: expected {expected}, but {problem.rstrip('.')}; the file is truncated or corrupt: "
                         "copy or export it again")
        self.path = Path(path)
