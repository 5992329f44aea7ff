"""`sim2real train-rl`: PPO on a registered Gymnasium env id (train, --resume, --list, --test)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim2real_trainer.errors import ResumeError, TrainerError

# Options that define a run: not accepted with --resume (the run keeps those of train_config.yaml).
_RUN_DEFINING = ("hyperparams", "preset", "seed", "eval_episodes")
_DEFAULTS = {"preset": "default", "seed": 0, "checkpoint_every": 50_000, "eval_every": 25_000, "eval_episodes": 5,
             "device": "cpu"}


def add_train_rl(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-rl", help="train PPO (Stable-Baselines3) on a Gymnasium env a robot package registers",
        description="Train PPO on an env id (registered by the robot packages, or a Gymnasium built-in) into "
                    "--output: model.zip + vecnormalize.pkl + model.yaml (served as-is by the policy node), "
                    "checkpoints/, best_model.zip (+ best_vecnormalize.pkl, best_model.yaml), eval/, monitor/, "
                    "train_config.yaml, reward_curve.png. --test runs deterministic episodes of a model and "
                    "writes an MP4.")
    parser.add_argument("env_id", nargs="?", help="e.g. HumanoidWalkLegs-v0 (see --list); with --resume and "
                                                  "--test: default the run's")
    parser.add_argument("--list", action="store_true", help="print the env ids the robot packages register")
    parser.add_argument("--output", type=Path, help="run folder (default outputs/rl/<env id>)")
    parser.add_argument("--hyperparams", help="presets YAML: a path or a name in a robot's config folder (default: "
                                              "rl/<env id>.yaml of a robot package, else SB3's PPO defaults)")
    parser.add_argument("--preset", help="preset name in the file (default 'default')")
    parser.add_argument("--steps", type=int, help="total env-steps (default: the preset's n_timesteps; with "
                                                  "--resume: the new total)")
    parser.add_argument("--seed", type=int, help="default 0")
    parser.add_argument("--checkpoint-every", type=int, help="env-steps between checkpoints (default 50000)")
    parser.add_argument("--eval-every", type=int, help="env-steps between evaluations (default 25000)")
    parser.add_argument("--eval-episodes", type=int, help="episodes per evaluation (default 5)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --output from its last "
                                                              "checkpoint, with its own preset and seed")
    parser.add_argument("--device", help="torch device (default cpu)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the envs use the cores)")
    parser.add_argument("--test", action="store_true", help="run deterministic episodes of --model instead")
    parser.add_argument("--model", type=Path, help="--test: a model zip of a run (default <output>/model.zip)")
    parser.add_argument("--episodes", type=int, default=3, help="--test: episodes (default 3)")
    parser.add_argument("--video", type=Path, help="--test: write the episodes to this MP4")
    parser.add_argument("--headless", action="store_true", help="never open a window (frames render offscreen; "
                                                               "no window is ever opened anyway)")
    parser.set_defaults(handler=run_train_rl)


def run_train_rl(args: argparse.Namespace) -> int:
    from sim2real_common.registry import register_envs

    ids = register_envs()
    if args.list:
        print("\n".join(ids) if ids else "no robot package registers an env")
        return 0
    import torch

    torch.set_num_threads(args.threads)
    if args.test:
        return _test(args, ids)
    if args.resume:
        return _resume(args, ids)
    if not args.env_id:
        raise TrainerError("train-rl: name an env id (registered: " + (", ".join(ids) or "none") + ")")
    _check_env_id(args.env_id, ids)
    from sim2real_trainer.rl.hyperparams import load_preset, preset_file
    from sim2real_trainer.rl.train import RlRun, train_rl

    given = {**_DEFAULTS, **{name: value for name, value in vars(args).items() if value is not None}}
    preset = load_preset(preset_file(args.env_id, args.hyperparams), given["preset"])
    print(f"preset {preset.name!r} of {preset.source or 'SB3 defaults'}: {preset.n_envs} envs, "
          f"{args.steps or preset.n_timesteps} steps")
    run = RlRun(env_id=args.env_id, output=args.output or Path("outputs/rl") / args.env_id, preset=preset,
                seed=given["seed"], steps=args.steps, checkpoint_every=given["checkpoint_every"],
                eval_every=given["eval_every"], eval_episodes=given["eval_episodes"], device=given["device"])
    _report(train_rl(run))
    return 0


def _resume(args: argparse.Namespace, ids: list[str]) -> int:
    from sim2real_trainer.rl.train import read_run_config, resume_rl

    fixed = [f"--{name.replace('_', '-')}" for name in _RUN_DEFINING if getattr(args, name) is not None]
    if fixed:
        raise ResumeError(f"--resume continues the run as it was configured; drop {', '.join(fixed)}")
    output = args.output or (Path("outputs/rl") / args.env_id if args.env_id else None)
    if output is None:
        raise ResumeError("--resume: name the run folder with --output")
    run, _ = read_run_config(output)
    if args.env_id and args.env_id != run.env_id:
        raise ResumeError(f"{output} is a run of {run.env_id}, not of {args.env_id}")
    _check_env_id(run.env_id, ids)
    _report(resume_rl(output, steps=args.steps, checkpoint_every=args.checkpoint_every, eval_every=args.eval_every,
                      device=args.device))
    return 0


def _test(args: argparse.Namespace, ids: list[str]) -> int:
    import numpy as np

    from sim2real_trainer.rl.test_mode import run_episodes

    model = args.model or (args.output or Path("outputs/rl") / (args.env_id or "")) / "model.zip"
    run = _run_of(model)
    if not args.env_id and run is None:
        raise TrainerError(f"name the env id: {model} is not in a train-rl run folder (no train_config.yaml)")
    env_id = args.env_id or run.env_id
    _check_env_id(env_id, ids)
    env_kwargs = run.preset.env_kwargs if run is not None and run.env_id == env_id else {}
    returns = []
    episodes = run_episodes(env_id, model, args.episodes, args.seed or 0, args.video, env_kwargs=env_kwargs)
    for k, (total, length) in enumerate(episodes):
        print(f"episode {k}: return {total:.2f}, {length} steps")
        returns.append(total)
    print(f"mean return {np.mean(returns):.2f} over {len(returns)} episodes"
          + (f"; wrote {args.video}" if args.video else ""))
    return 0


def _run_of(model: Path):
    """The train-rl run a model belongs to (its folder, or the run of a checkpoints/ file), or None:
    its env id and the env keywords it trained with."""
    from sim2real_trainer.rl.train import read_run_config

    for folder in (model.parent, model.parent.parent):
        if (folder / "train_config.yaml").is_file():
            return read_run_config(folder)[0]
    return None


def _report(output: Path) -> None:
    from sim2real_trainer.rl.train import read_run_config

    _, steps = read_run_config(output)
    print(f"{steps} steps; model {output / 'model.zip'} (best: best_model.zip); curve {output / 'reward_curve.png'}")


def _check_env_id(env_id: str, registered: list[str]) -> None:
    import gymnasium

    from sim2real_common.errors import did_you_mean

    if env_id not in gymnasium.registry:
        raise TrainerError(f"unknown env id {env_id!r}{did_you_mean(env_id, [*registered, *gymnasium.registry])}; "
                           f"registered by the robot packages: {', '.join(registered) or 'none'} (or a Gymnasium "
                           "built-in)")
