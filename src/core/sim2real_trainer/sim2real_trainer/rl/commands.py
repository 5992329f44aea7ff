"""`sim2real train-rl`: PPO on a registered Gymnasium env id (train, --list, --test)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim2real_trainer.errors import TrainerError


def add_train_rl(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-rl", help="train PPO (Stable-Baselines3) on a Gymnasium env a robot package registers",
        description="Train PPO on an env id (registered by the robot packages, or a Gymnasium built-in) into "
                    "--output: model.zip + vecnormalize.pkl + model.yaml (served as-is by the policy node), "
                    "checkpoints/, best_model.zip, eval/, train_config.yaml, reward_curve.png. "
                    "--test runs deterministic episodes of a model and writes an MP4.")
    parser.add_argument("env_id", nargs="?", help="e.g. HumanoidWalkLegs-v0 (see --list)")
    parser.add_argument("--list", action="store_true", help="print the env ids the robot packages register")
    parser.add_argument("--output", type=Path, help="run folder (default outputs/rl/<env id>)")
    parser.add_argument("--hyperparams", help="presets YAML (default: rl/<env id>.yaml of a robot package, "
                                              "else SB3's PPO defaults)")
    parser.add_argument("--preset", default="default", help="preset name in the file (default 'default')")
    parser.add_argument("--steps", type=int, help="total env-steps (default: the preset's n_timesteps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=50_000, help="env-steps between checkpoints")
    parser.add_argument("--eval-every", type=int, default=25_000, help="env-steps between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--resume", action="store_true", help="continue the run in --output from its last checkpoint")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the envs use the cores)")
    parser.add_argument("--test", action="store_true", help="run deterministic episodes of --model instead")
    parser.add_argument("--model", type=Path, help="--test: the model.zip (default <output>/model.zip)")
    parser.add_argument("--episodes", type=int, default=3, help="--test: episodes")
    parser.add_argument("--video", type=Path, help="--test: write the episodes to this MP4")
    parser.add_argument("--headless", action="store_true", help="never open a window (frames render offscreen)")
    parser.set_defaults(handler=run_train_rl)


def run_train_rl(args: argparse.Namespace) -> int:
    from sim2real_common.registry import register_envs

    ids = register_envs()
    if args.list:
        print("\n".join(ids) if ids else "no robot package registers an env")
        return 0
    if not args.env_id:
        raise TrainerError("train-rl: name an env id (registered: " + (", ".join(ids) or "none") + ")")
    _check_env_id(args.env_id, ids)
    output = args.output or Path("outputs/rl") / args.env_id
    if args.test:
        from sim2real_trainer.rl.test_mode import run_episodes

        for k, (total, length) in enumerate(run_episodes(args.env_id, args.model or output / "model.zip",
                                                         args.episodes, args.seed, args.video)):
            print(f"episode {k}: return {total:.2f}, {length} steps")
        if args.video:
            print(f"wrote {args.video}")
        return 0
    import torch

    from sim2real_trainer.rl.hyperparams import load_preset, preset_file
    from sim2real_trainer.rl.train import RlRun, train_rl

    torch.set_num_threads(args.threads)
    preset = load_preset(preset_file(args.env_id, args.hyperparams), args.preset)
    run = RlRun(env_id=args.env_id, output=output, preset=preset, seed=args.seed, steps=args.steps,
                checkpoint_every=args.checkpoint_every, eval_every=args.eval_every,
                eval_episodes=args.eval_episodes, resume=args.resume, device=args.device)
    print(f"wrote {train_rl(run)}")
    return 0


def _check_env_id(env_id: str, registered: list[str]) -> None:
    import gymnasium

    from sim2real_common.errors import did_you_mean

    if env_id not in gymnasium.registry:
        raise TrainerError(f"unknown env id {env_id!r}{did_you_mean(env_id, registered)}; registered by the robot "
                           f"packages: {', '.join(registered) or 'none'} (or a Gymnasium built-in)")
