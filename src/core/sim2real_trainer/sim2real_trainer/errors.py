"""Errors of the trainer package; each message says what was wrong and what is accepted.

All derive from ValueError so that the `sim2real` command prints them as one line (exit code 2).
Malformed config files raise sim2real_common's ConfigError (file, field, problem).
"""

from __future__ import annotations

from collections.abc import Iterable


class TrainerError(ValueError):
    """Base class of sim2real_trainer errors."""


class DatasetError(TrainerError):
    """A dataset directory is missing, not a LeRobot dataset, or lacks a feature we need."""


class UnknownPolicyTypeError(TrainerError):
    def __init__(self, name: str, accepted: Iterable[str]) -> None:
        self.name = name
        self.accepted = sorted(accepted)
        super().__init__(f"unknown policy type {name!r}; LeRobot 0.4.4 accepts: {', '.join(self.accepted)}")


class PolicyConfigError(TrainerError):
    """A --policy-config key=value override names no field of the policy config or has a bad value."""


class ResumeError(TrainerError):
    """--resume was asked for a folder without a checkpoint, or with options that would change the run."""
