"""Evaluate a policy in the sim core (no ROS): N seeded episodes of a registered scene -> the
evaluator's report.

The policy is loaded with ``sim2real_policy.loaders.load_policy``, exactly as the policy node loads
it, and its actions go through the same processing as the policy node's (``ActionClamp`` of the
scene's contract: each action joint, by name, to its limits and max step per tick) and reach the
actuators by name as the sim bridge applies joint commands, so a seeded episode ends exactly as it
does through eval_sim.launch.py; the cameras it reads (``observation.images.<name>``, H x W) are
rendered at its own size. The report is ``sim2real_sim.evaluation.summarize``'s: success rate,
95% Wilson interval, outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sim2real_common.contract import ContractMismatch, load_contract
from sim2real_common.registry import default_expert_scene, default_scene, scene as registered_scene
from sim2real_common.robot_config import load_robot_config
from sim2real_policy.action_clamp import ActionClamp
from sim2real_policy.interface import Policy
from sim2real_policy.loaders.observations import camera_name
from sim2real_sim.evaluation import summarize
from sim2real_sim.sim import Sim, SimConfig

STATE = "observation.state"


@dataclass(frozen=True)
class SimEvalConfig:
    n_episodes: int = 10
    seed: int = 10_000  # episode k uses seed + k; far from the demo seeds (0, 1, ...)
    max_steps: int | None = None  # control ticks per episode (None: the task's own)
    device: str = "cpu"
    scene: str = ""  # a registered scene ('' = the only one)
    robot_config: str = ""  # joint limits and max step per tick, as the policy node's ('' = the contract's robot)

    def __post_init__(self) -> None:
        if self.n_episodes < 1:
            raise ValueError(f"n_episodes must be >= 1, got {self.n_episodes}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")


def policy_cameras(policy: Policy) -> dict[str, tuple[int, int]]:
    """``{camera: (H, W)}`` of the images the policy reads."""
    return {camera_name(f.name): f.shape[:2] for f in policy.input_features if camera_name(f.name)}


def run_episode(sim: Sim, policy: Policy, seed: int, cameras: dict[str, tuple[int, int]],
                clamp: ActionClamp) -> dict[str, Any]:
    """One episode; each action clamped as the policy node clamps it, then set on the actuators of
    its joints (the others hold their targets), as the sim bridge applies a joint command."""
    actuators = [sim.joint_names.index(name) for name in clamp.joints]
    status = sim.reset(seed)
    policy.reset()
    while not status.done:
        observation = sim.observation(cameras)
        targets = sim.commanded
        targets[actuators] = clamp(policy.select_action(observation), observation[STATE])
        status = sim.step(targets)
    return status.to_dict()


def action_clamp(scene: str, joint_names: list[str], robot_config: str = "") -> ActionClamp:
    """The policy node's clamp for the scene's contract (its action joints, tracked against its
    ``observation.state`` joints, limits of ``robot_config``, '' = the contract's robot), for a sim
    whose actuators and ``observation.state`` are ``joint_names``."""
    contract_name = registered_scene(scene)[1].contract
    if not contract_name:
        raise ValueError(f"scene {scene!r} registers no contract: its actions cannot be clamped as the policy "
                         "node clamps them")
    contract = load_contract(contract_name)
    state = contract.features.get(STATE)
    state_joints = list(state.joints) if state else []
    if state_joints and state_joints != joint_names:
        raise ValueError(f"contract {contract_name}: {STATE} joints {state_joints} are not the scene's actuators "
                         f"{joint_names} in order")
    action_joints = contract.features["action"].joints
    unknown = [name for name in action_joints if name not in joint_names]
    if unknown:
        raise ValueError(f"contract {contract_name}: action joints {unknown} are not actuators of scene {scene!r} "
                         f"({joint_names})")
    robot = load_robot_config(robot_config or contract.robot)
    return ActionClamp.for_joints(robot, action_joints, state_joints)


def policy_scene(policy: Policy) -> str:
    """The scene to evaluate a policy in when none is named: the only registered one, else the only
    one whose contract serves the policy's inputs and outputs."""
    inputs = {f.name: tuple(f.shape) for f in policy.input_features}
    outputs = {f.name: tuple(f.shape) for f in policy.output_features}

    def serves(name: str) -> bool:
        contract = registered_scene(name)[1].contract
        if not contract:
            return False
        try:
            load_contract(contract).check_policy(inputs, outputs)
        except ContractMismatch:
            return False
        return True

    return default_scene(serves, "whose contract serves the policy")


EpisodeDone = Callable[[dict[str, Any]], None]  # called with each episode's status dict


def evaluate_policy(policy: Policy, config: SimEvalConfig, meta: dict[str, Any] | None = None,
                    on_episode: EpisodeDone | None = None) -> dict[str, Any]:
    scene = config.scene or policy_scene(policy)
    sim = Sim(SimConfig(scene=scene, max_steps=config.max_steps))
    try:
        clamp = action_clamp(scene, sim.joint_names, config.robot_config)
        cameras = policy_cameras(policy)
        episodes = []
        for k in range(config.n_episodes):
            episodes.append(run_episode(sim, policy, config.seed + k, cameras, clamp))
            if on_episode is not None:
                on_episode(episodes[-1])
    finally:
        sim.close()
    return summarize(episodes, type(sim.task), meta=meta)


def load_for_eval(checkpoint: str | Path, config: SimEvalConfig) -> tuple[Policy, SimEvalConfig]:
    """Load a checkpoint (or training output folder: its latest) as the policy node does; the
    config gets its scene (when none is named: the expert's, or the one serving the policy)."""
    from sim2real_policy.loaders import load_policy

    if str(checkpoint) == "expert":
        scene = config.scene or default_expert_scene()
        policy = load_policy("expert", scene=scene)
    else:
        policy = load_policy(str(checkpoint), device=config.device)
        scene = config.scene or policy_scene(policy)
    return policy, replace(config, scene=scene)


def evaluate_checkpoint(checkpoint: str | Path, config: SimEvalConfig,
                        on_episode: EpisodeDone | None = None) -> dict[str, Any]:
    policy, config = load_for_eval(checkpoint, config)
    return evaluate_policy(policy, config, meta={"policy": str(checkpoint), "scene": config.scene, "seed": config.seed,
                                                  "max_steps": config.max_steps}, on_episode=on_episode)
