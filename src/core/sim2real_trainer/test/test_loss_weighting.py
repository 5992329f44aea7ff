"""Per-group loss weighting: exact weights and losses on hand-built batches, through the same seam
the trainer uses on LeRobot's ACT (its element-wise F.l1_loss)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812  (the seam: policy modules call F.l1_loss / F.mse_loss)

from sim2real_trainer.errors import TrainerError
from sim2real_trainer.groups import ActionGroups, LossWeightingConfig
from sim2real_trainer.loss_weighting import ActionLossWeighting, dimension_weights

GROUPS = ActionGroups({"arm": (0, 3), "wrist": (3, 5), "gripper": (5, 6)})
PER_GROUP = LossWeightingConfig("per_group", {"arm": 3.0, "wrist": 2.0, "gripper": 1.0})


class ToyPolicy(torch.nn.Module):
    """Predicts a fixed action chunk; its loss is ACT's: masked element-wise L1, then the mean."""

    def __init__(self, prediction: torch.Tensor) -> None:
        super().__init__()
        self.prediction = prediction

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        l1 = F.l1_loss(batch["action"], self.prediction, reduction="none") * ~batch["action_is_pad"].unsqueeze(-1)
        return l1.mean(), {}


def toy_batch(error_dims: list[int], *, batch: int = 2, steps: int = 4, dim: int = 6) -> tuple[dict, torch.Tensor]:
    """Targets 0, prediction 1 in ``error_dims``: |error| is 1 there and 0 elsewhere."""
    prediction = torch.zeros(batch, steps, dim, dtype=torch.float64)
    prediction[..., error_dims] = 1.0
    target = {"action": torch.zeros(batch, steps, dim, dtype=torch.float64),
              "action_is_pad": torch.zeros(batch, steps, dtype=torch.bool)}
    return target, prediction


def test_weights_per_strategy_are_normalised_to_mean_one():
    assert dimension_weights(LossWeightingConfig(), GROUPS).tolist() == [1.0] * 6
    # arm 3, wrist 2, gripper 1 -> [3, 3, 3, 2, 2, 1] / (14 / 6)
    assert dimension_weights(PER_GROUP, GROUPS) == pytest.approx([9 / 7] * 3 + [6 / 7] * 2 + [3 / 7])
    per_dim = LossWeightingConfig("per_dimension", dimension_weights=(1, 1, 1, 1, 1, 7))
    assert dimension_weights(per_dim, GROUPS) == pytest.approx([0.5] * 5 + [3.5])


def test_per_group_weighting_scales_the_loss_as_specified():
    batch, prediction = toy_batch([0, 1, 2])  # only the arm is wrong, by 1
    policy = ToyPolicy(prediction)
    assert policy(batch)[0].item() == pytest.approx(0.5)  # 3 of 6 dimensions off by 1
    ActionLossWeighting(dimension_weights(PER_GROUP, GROUPS)).attach(policy, "act")
    assert policy(batch)[0].item() == pytest.approx(3 * (9 / 7) / 6)  # = 9/14: the arm counts 9/7 each


def test_gripper_error_weighs_less_and_padding_stays_masked():
    batch, prediction = toy_batch([5])
    batch["action_is_pad"][:, 2:] = True  # half the steps are padding: their error must not count
    policy = ToyPolicy(prediction)
    ActionLossWeighting(dimension_weights(PER_GROUP, GROUPS)).attach(policy, "act")
    assert policy(batch)[0].item() == pytest.approx((3 / 7) / 6 / 2)


def test_uniform_weights_leave_the_loss_bit_identical():
    torch.manual_seed(0)
    batch = {"action": torch.randn(3, 5, 6), "action_is_pad": torch.rand(3, 5) > 0.7}
    policy = ToyPolicy(torch.randn(3, 5, 6))
    plain = policy(batch)[0]
    ActionLossWeighting(dimension_weights(LossWeightingConfig(), GROUPS)).attach(policy, "act")
    assert torch.equal(policy(batch)[0], plain)


def test_padded_action_dimensions_keep_weight_one():
    """pi0 / SmolVLA compute the loss over actions padded to max_action_dim."""
    batch, prediction = toy_batch([5, 6, 7], dim=8)
    policy = ToyPolicy(prediction)
    ActionLossWeighting(dimension_weights(PER_GROUP, GROUPS)).attach(policy, "act")
    assert policy(batch)[0].item() == pytest.approx((3 / 7 + 1 + 1) / 8)


def test_module_gets_its_functional_back():
    batch, prediction = toy_batch([0])
    policy = ToyPolicy(prediction)
    ActionLossWeighting(dimension_weights(PER_GROUP, GROUPS)).attach(policy, "act")
    policy(batch)
    assert F is torch.nn.functional and globals()["F"] is torch.nn.functional


def test_policy_without_the_seam_is_refused():
    class NoElementwiseLoss(torch.nn.Module):
        def forward(self, batch):
            return batch["action"].abs().mean(), {}

    policy = NoElementwiseLoss()
    ActionLossWeighting([1.0] * 6).attach(policy, "act")
    with pytest.raises(TrainerError, match="computed no element-wise l1_loss or mse_loss"):
        policy({"action": torch.ones(1, 6)})
    with pytest.raises(TrainerError, match="supports policy types act, diffusion, pi0, pi05, smolvla, not 'vqbet'"):
        ActionLossWeighting([1.0] * 6).attach(NoElementwiseLoss(), "vqbet")


def tiny_act():
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy

    config = ACTConfig(
        device="cpu", push_to_hub=False, pretrained_backbone_weights=None, use_vae=False, chunk_size=4,
        n_action_steps=4, dim_model=16, dim_feedforward=32, n_heads=2, n_encoder_layers=1, n_decoder_layers=1,
        input_features={"observation.state": PolicyFeature(FeatureType.STATE, (6,)),
                        "observation.environment_state": PolicyFeature(FeatureType.ENV, (10,))},
        output_features={"action": PolicyFeature(FeatureType.ACTION, (6,))},
    )
    torch.manual_seed(0)
    return ACTPolicy(config).eval()


def test_act_loss_is_weighted_through_lerobots_own_forward():
    policy = tiny_act()
    torch.manual_seed(1)
    batch = {"observation.state": torch.randn(2, 6), "observation.environment_state": torch.randn(2, 10),
             "action": torch.randn(2, 4, 6), "action_is_pad": torch.tensor([[False] * 4, [False, False, True, True]])}
    predicted = []
    policy.model.register_forward_hook(lambda module, args, output: predicted.append(output[0].detach()))
    plain, _ = policy.forward(batch)

    ActionLossWeighting(dimension_weights(PER_GROUP, GROUPS)).attach(policy, "act")
    weighted, info = policy.forward(batch)

    weights = torch.tensor([9 / 7] * 3 + [6 / 7] * 2 + [3 / 7])
    error = (batch["action"] - predicted[-1]).abs() * ~batch["action_is_pad"].unsqueeze(-1)
    assert torch.allclose(predicted[0], predicted[1])  # same network output both times
    assert plain.item() == pytest.approx(error.mean().item(), rel=1e-6)
    assert weighted.item() == pytest.approx((error * weights).mean().item(), rel=1e-6)
    assert info["l1_loss"] == pytest.approx(weighted.item(), rel=1e-6)
    weighted.backward()  # gradients flow through the weighted loss
    assert policy.model.action_head.weight.grad is not None
