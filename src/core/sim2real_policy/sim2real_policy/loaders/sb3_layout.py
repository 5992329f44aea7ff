"""How a Stable-Baselines3 model sees the robot: its observation vector and its action.

Given as a mapping: the YAML sidecar ``<name>.yaml`` next to ``<name>.zip``, or the ``layout``
argument of ``load_policy``::

    algorithm: PPO        # optional: PPO, SAC, TD3, A2C, DDPG or DQN; default: read from the zip
    vecnormalize: Pendulum-v1/vecnormalize.pkl
                          # optional: the VecNormalize.save() pickle, relative to the model's folder
                          # (rl-zoo saves it in <env_id>/ beside <env_id>.zip); default:
                          # vecnormalize.pkl next to the model when there (see sb3_normalize.py)
    control_hz: 12.5      # the model's control rate (needed by policy.gait_clock)
    observation:          # concatenated in this order into the model's observation vector
      - {feature: observation.state, dims: 6}
      - {feature: observation.environment_state, start: 0, dims: 3, size: 10}
        # elements [start, start + dims) of a feature of ``size`` elements (default start + dims)
      - {feature: policy.last_action, dims: 10}
        # what the policy itself knows: its previous action (zeros after a reset) ...
      - {feature: policy.gait_clock, dims: 2, hz: 2.0}
        # ... and a gait clock: sin, cos of 2 pi hz t, t = ticks since the reset / control_hz
    action:
      mode: delta         # absolute: target = scale * a + offset
                          # delta:    target = current joint position + scale * a + offset
                          # velocity: speed = scale * a + offset; joints not driven stop (0)
      joints: [0]         # indices in the served action the components drive (default: all, in
                          # order); joints not driven hold their current position
      scale: 0.05         # a number or one per component (default 1)
      offset: 0.0         # a number or one per component (default 0)
      n_joints: 6         # length of the served action; default: the length of observation.state
                          # as the observation reads it (required when it does not read the state)

Delta actions and held joints read the current position of served-action element i at element i
of ``observation.state``: the contract must list the same joints, in the same order, for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_policy.interface import Feature, Observation
from sim2real_policy.loaders.errors import SidecarError
from sim2real_policy.loaders.yaml_fields import check_keys, field, int_list, number_list

STATE = "observation.state"
MODES = ("absolute", "delta", "velocity")
LAST_ACTION, GAIT_CLOCK = "policy.last_action", "policy.gait_clock"  # made by the policy, not served
GENERATED = (LAST_ACTION, GAIT_CLOCK)
_TOP_KEYS = ("algorithm", "vecnormalize", "control_hz", "observation", "action")
_SLICE_KEYS = ("feature", "dims", "start", "size", "hz")
_ACTION_KEYS = ("mode", "joints", "scale", "offset", "n_joints")


@dataclass(frozen=True)
class ObservationSlice:
    feature: str
    dims: int  # elements taken
    start: int = 0  # first element taken
    size: int = 0  # full length of the served feature (0 = start + dims)
    hz: float = 0.0  # policy.gait_clock: its frequency

    @property
    def length(self) -> int:
        return self.size or self.start + self.dims


@dataclass(frozen=True)
class ActionMapping:
    mode: str  # "absolute" | "delta"
    joints: tuple[int, ...]
    scale: np.ndarray
    offset: np.ndarray
    n_joints: int  # length of the served action

    @property
    def needs_state(self) -> bool:
        """Delta actions, and joints a position action does not drive, read the current positions."""
        return self.mode == "delta" or (self.mode == "absolute" and len(self.joints) < self.n_joints)

    def apply(self, action: np.ndarray, current: np.ndarray | None) -> np.ndarray:
        """Model action (one value per driven joint) -> joint targets (n_joints,): positions, or speeds."""
        value = self.scale * np.asarray(action, dtype=np.float64).reshape(-1) + self.offset
        joints = list(self.joints)
        targets = np.array(current, dtype=np.float64) if self.needs_state else np.zeros(self.n_joints)
        if self.mode == "delta":
            targets[joints] += value
        else:
            targets[joints] = value
        return targets


@dataclass(frozen=True)
class Sb3Layout:
    observation: tuple[ObservationSlice, ...]
    action: ActionMapping
    source: Path  # where the layout came from (named in errors)
    algorithm: str | None = None
    vecnormalize: str | None = None  # VecNormalize pickle named by the layout
    control_hz: float = 0.0

    @property
    def observation_dims(self) -> int:
        return sum(s.dims for s in self.observation)

    @property
    def input_features(self) -> tuple[Feature, ...]:
        """Each served feature read once, with its full length; the state too if actions need it."""
        lengths: dict[str, int] = {}
        for s in self.observation:
            if s.feature not in GENERATED:
                lengths[s.feature] = s.length
        if self.action.needs_state:
            lengths.setdefault(STATE, self.action.n_joints)
        return tuple(Feature(name, (length,)) for name, length in lengths.items())

    def observation_vector(self, observation: Observation, last_action: np.ndarray, ticks: int) -> np.ndarray:
        """The model's input; ``last_action`` and ``ticks`` (since the reset) feed the generated parts."""
        parts = []
        for s in self.observation:
            if s.feature == LAST_ACTION:
                parts.append(np.asarray(last_action, dtype=np.float64).reshape(-1)[: s.dims])
            elif s.feature == GAIT_CLOCK:
                phase = 2 * np.pi * s.hz * ticks / self.control_hz
                parts.append(np.array([np.sin(phase), np.cos(phase)]))
            else:
                parts.append(np.asarray(observation[s.feature]).reshape(-1)[s.start : s.start + s.dims])
        return np.concatenate(parts)


def layout_from_mapping(data: Any, source: Path, *, algorithms: tuple[str, ...]) -> Sb3Layout:
    if not isinstance(data, dict):
        raise SidecarError(source, "<layout>", "a mapping with observation and action", type(data).__name__)
    check_keys(data, _TOP_KEYS, source, "")
    algorithm = field(data, "algorithm", str, source, default=None)
    if algorithm is not None and algorithm not in algorithms:
        raise SidecarError(source, "algorithm", f"one of {', '.join(algorithms)}", repr(algorithm))
    vecnormalize = field(data, "vecnormalize", str, source, default=None)
    control_hz = float(field(data, "control_hz", (int, float), source, default=0.0))
    raw_slices = field(data, "observation", list, source)
    if not raw_slices:
        raise SidecarError(source, "observation", "at least one feature", "an empty list")
    slices = tuple(_slice(raw, source, f"observation[{i}]") for i, raw in enumerate(raw_slices))
    for i, s in enumerate(slices):
        if s.feature == GAIT_CLOCK and (s.dims != 2 or s.hz <= 0 or control_hz <= 0):
            raise SidecarError(source, f"observation[{i}]", "dims 2, hz > 0 and a top-level control_hz > 0 for "
                               f"{GAIT_CLOCK}", f"dims {s.dims}, hz {s.hz}, control_hz {control_hz}")
    lengths: dict[str, int] = {}
    for i, s in enumerate(slices):
        if lengths.setdefault(s.feature, s.length) != s.length:
            raise SidecarError(
                source,
                f"observation[{i}].size",
                f"{lengths[s.feature]} (as declared before)",
                str(s.length),
            )
    action = _action(field(data, "action", dict, source), source, lengths.get(STATE))
    if action.needs_state and lengths.get(STATE, action.n_joints) != action.n_joints:
        raise SidecarError(
            source, "action.n_joints", f"{lengths[STATE]} (the length of {STATE})", str(action.n_joints)
        )
    for i, s in enumerate(slices):
        if s.feature == LAST_ACTION and s.dims != len(action.joints):
            raise SidecarError(source, f"observation[{i}].dims", f"{len(action.joints)} (one per action component)",
                               str(s.dims))
    return Sb3Layout(observation=slices, action=action, source=source, algorithm=algorithm,
                     vecnormalize=vecnormalize, control_hz=control_hz)


def _slice(raw: Any, source: Path, where: str) -> ObservationSlice:
    if not isinstance(raw, dict):
        raise SidecarError(source, where, "a mapping {feature, dims[, start, size]}", repr(raw))
    check_keys(raw, _SLICE_KEYS, source, f"{where}.")
    feature = field(raw, "feature", str, source, f"{where}.")
    dims = field(raw, "dims", int, source, f"{where}.")
    start = field(raw, "start", int, source, f"{where}.", default=0)
    size = field(raw, "size", int, source, f"{where}.", default=0)
    hz = float(field(raw, "hz", (int, float), source, f"{where}.", default=0.0))
    if dims < 1 or start < 0:
        raise SidecarError(source, where, "dims >= 1 and start >= 0", f"dims {dims}, start {start}")
    if size and size < start + dims:
        raise SidecarError(source, f"{where}.size", f">= start + dims = {start + dims}", str(size))
    return ObservationSlice(feature=feature, dims=dims, start=start, size=size, hz=hz)


def _action(raw: dict[str, Any], source: Path, state_length: int | None) -> ActionMapping:
    check_keys(raw, _ACTION_KEYS, source, "action.")
    mode = field(raw, "mode", str, source, "action.")
    if mode not in MODES:
        raise SidecarError(source, "action.mode", " or ".join(MODES), repr(mode))
    n_joints = field(raw, "n_joints", int, source, "action.", default=state_length)
    if n_joints is None:
        raise SidecarError(source, "action.n_joints", f"the length of the served action (the observation "
                                                      f"does not read {STATE}, whose length is the default)",
                           "nothing (missing)")
    if n_joints < 1:
        raise SidecarError(source, "action.n_joints", "a positive integer", str(n_joints))
    joints = int_list(
        field(raw, "joints", list, source, "action.", default=list(range(n_joints))),
        source,
        "action.joints",
    )
    if any(not 0 <= j < n_joints for j in joints) or len(set(joints)) != len(joints):
        raise SidecarError(
            source, "action.joints", f"distinct joint indices in 0..{n_joints - 1}", repr(list(joints))
        )
    scale = number_list(
        field(raw, "scale", (int, float, list), source, "action.", default=1.0),
        source,
        "action.scale",
        len(joints),
    )
    offset = number_list(
        field(raw, "offset", (int, float, list), source, "action.", default=0.0),
        source,
        "action.offset",
        len(joints),
    )
    return ActionMapping(
        mode=mode, joints=joints, scale=np.array(scale), offset=np.array(offset), n_joints=n_joints
    )
