"""The policy node's sidecars of a run: ``model.yaml`` and ``best_model.yaml`` (sb3_layout.py),
so that ``load_policy(<run>/model.zip)`` serves the model as it is.

The layout is the env's own when it gives one (``policy_layout()``: the humanoid's walking envs
map the contract's features to the model's observation and its action to speed commands). Any
other env with a flat Box observation gets the plain layout: the whole observation is
``observation.state``, the action is absolute targets of as many joints as it has components (what
Gymnasium's built-ins such as Pendulum-v1 can be served as; a robot's env should say better).
"""

from __future__ import annotations

from typing import Any

import yaml

from sim2real_trainer.rl.run_files import RunFiles


def env_layout(env_id: str, env_kwargs: dict[str, Any] | None = None) -> tuple[dict[str, Any] | None, str]:
    """(the SB3 layout of a model trained on ``env_id`` made with ``env_kwargs``, '') or (None, why there is none)."""
    import gymnasium
    import numpy as np

    env = gymnasium.make(env_id, **(env_kwargs or {}))
    try:
        own = getattr(env.unwrapped, "policy_layout", None)
        if own is not None:
            try:
                return own(), ""
            except ValueError as err:  # the env says its models cannot be served (e.g. privileged observation)
                return None, str(err)
        obs, act = env.observation_space, env.action_space
        if not isinstance(obs, gymnasium.spaces.Box) or len(obs.shape) != 1:
            return None, f"observation space {obs} is not a flat Box"
        if isinstance(act, gymnasium.spaces.Discrete):
            n_joints = 1
        elif isinstance(act, gymnasium.spaces.Box):
            n_joints = int(np.prod(act.shape))
        else:
            return None, f"action space {act} is neither Box nor Discrete"
        return {"algorithm": "PPO", "observation": [{"feature": "observation.state", "dims": int(obs.shape[0])}],
                "action": {"mode": "absolute", "n_joints": n_joints}}, ""
    finally:
        env.close()


def write_sidecars(files: RunFiles, layout: dict[str, Any], *, normalized: bool) -> None:
    """``model.yaml`` (its pickle: vecnormalize.pkl beside it, the loader's default) and
    ``best_model.yaml`` (naming best_vecnormalize.pkl)."""
    files.root.mkdir(parents=True, exist_ok=True)
    header = "# SB3 layout of the model beside this file (sim2real_policy/loaders/sb3_layout.py), by train-rl\n"
    files.sidecar.write_text(header + yaml.safe_dump(layout, sort_keys=False))
    best = {**layout, "vecnormalize": files.best_vecnormalize.name} if normalized else layout
    files.best_sidecar.write_text(header + yaml.safe_dump(best, sort_keys=False))
