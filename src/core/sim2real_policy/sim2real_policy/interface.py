"""The one policy interface every loader and scripted expert implements.

An observation is a dict keyed by LeRobot feature names:
- ``observation.state``: joint positions (rad) of the contract's ``observation.state.joints``,
  in that order;
- ``observation.environment_state``: privileged sim state, for scripted experts
  (pick-place: block position xyz, block quaternion wxyz, bowl position xyz -> shape (10,));
- ``observation.images.<camera>``: uint8 RGB (H, W, 3).
An action is joint position targets (rad) of the contract's ``action.joints``, in that order;
they need not be the state's joints. Shapes are the policy's own (its features), checked
against the contract at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Observation = dict[str, np.ndarray]


@dataclass(frozen=True)
class Feature:
    """A declared input or output: LeRobot feature name, shape and dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"


@runtime_checkable
class Policy(Protocol):
    input_features: tuple[Feature, ...]
    output_features: tuple[Feature, ...]

    def reset(self) -> None:
        """Forget everything from the previous episode (action queues, phase, ...)."""

    def select_action(self, observation: Observation) -> np.ndarray:
        """One action for this control tick."""


@runtime_checkable
class ChunkingPolicy(Policy, Protocol):
    """A policy that predicts several future actions at once (ACT, diffusion, pi0, ...).

    ``select_action`` serves them one per tick from the policy's own queue; the policy node's
    realtime scheduler instead calls ``predict_chunk`` in the background, so a slow inference
    never stalls the control loop.
    """

    def predict_chunk(self, observation: Observation) -> np.ndarray:
        """Actions for the next ticks, shape (n, action_dim), n >= 1."""
