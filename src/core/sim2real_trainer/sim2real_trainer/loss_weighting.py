"""Per-dimension action loss weights applied to LeRobot policies without forking them.

The seam: LeRobot 0.4.4's imitation policies compute their action loss element by element with
``torch.nn.functional`` in the module that defines the policy class -- ACT
``F.l1_loss(actions, actions_hat, reduction="none")``, Diffusion, pi0, pi0.5 and SmolVLA
``F.mse_loss(..., reduction="none")`` -- then mask padded steps and take the mean. While the
policy's ``forward`` runs, `ActionLossWeighting` swaps that module's ``F`` for a proxy that
multiplies those element-wise losses by the weights along the last (action) axis; every other
function passes through untouched, and the module gets its ``F`` back when forward returns. The
rest of the loss (ACT's KL term, masking, reduction) is LeRobot's own code.

Weights are normalised to mean 1 over the action dimensions, so the loss keeps its scale and
``uniform`` weighting gives exactly LeRobot's loss.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np
import torch

from sim2real_trainer.errors import TrainerError
from sim2real_trainer.groups import ActionGroups, LossWeightingConfig

SUPPORTED_POLICY_TYPES = ("act", "diffusion", "pi0", "pi05", "smolvla")
_WEIGHTED_FUNCTIONS = ("l1_loss", "mse_loss")


def dimension_weights(config: LossWeightingConfig, groups: ActionGroups) -> np.ndarray:
    """One weight per action dimension for the configured strategy, normalised to mean 1."""
    if config.strategy == "uniform":
        weights = np.ones(groups.dim)
    elif config.strategy == "per_group":
        weights = np.array([config.group_weights[groups.group_of(d)] for d in range(groups.dim)])
    elif config.strategy == "per_dimension":
        weights = np.asarray(config.dimension_weights, dtype=float)
    else:
        raise TrainerError(f"unknown loss weighting strategy {config.strategy!r}")
    return weights / weights.mean()


class _WeightedFunctional:
    """Stands in for ``torch.nn.functional`` inside a policy module during its forward."""

    def __init__(self, functional: ModuleType, weights: torch.Tensor) -> None:
        self._functional = functional
        self._weights = weights
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        original = getattr(self._functional, name)
        if name not in _WEIGHTED_FUNCTIONS:
            return original

        def weighted(*args: Any, **kwargs: Any) -> torch.Tensor:
            loss = original(*args, **kwargs)
            return self._weigh(loss) if kwargs.get("reduction") == "none" else loss

        return weighted

    def _weigh(self, loss: torch.Tensor) -> torch.Tensor:
        n = self._weights.numel()
        if loss.shape[-1] < n:
            raise TrainerError(f"loss weighting: an element-wise loss has {loss.shape[-1]} action "
                               f"dimensions, the weights cover {n}")
        self.calls += 1
        weights = self._weights.to(device=loss.device, dtype=loss.dtype)
        if loss.shape[-1] > n:  # pi0/SmolVLA pad actions to max_action_dim: padding keeps weight 1
            weights = torch.cat([weights, weights.new_ones(loss.shape[-1] - n)])
        return loss * weights


class ActionLossWeighting:
    """Weights a LeRobot policy's element-wise action loss; see the module docstring."""

    def __init__(self, weights: Sequence[float]) -> None:
        self.weights = torch.as_tensor(np.asarray(weights, dtype=np.float32))

    def attach(self, policy: torch.nn.Module, policy_type: str) -> None:
        """Wrap ``policy.forward`` (instance attribute: the class and checkpoints are untouched)."""
        if policy_type not in SUPPORTED_POLICY_TYPES:
            raise TrainerError(f"loss weighting supports policy types {', '.join(SUPPORTED_POLICY_TYPES)}, "
                               f"not {policy_type!r}; use strategy uniform")
        policy.forward = self.wrap(policy.forward, sys.modules[type(policy).__module__])

    def wrap(self, forward: Callable[..., Any], module: ModuleType) -> Callable[..., Any]:
        def weighted_forward(*args: Any, **kwargs: Any) -> Any:
            with self._patched(module) as proxy:
                result = forward(*args, **kwargs)
            if proxy.calls == 0:
                raise TrainerError(f"loss weighting: {module.__name__} computed no element-wise "
                                   f"{' or '.join(_WEIGHTED_FUNCTIONS)} in forward; use strategy uniform")
            return result

        return weighted_forward

    @contextmanager
    def _patched(self, module: ModuleType):
        functional = module.F
        proxy = _WeightedFunctional(functional, self.weights)
        module.F = proxy
        try:
            yield proxy
        finally:
            module.F = functional
