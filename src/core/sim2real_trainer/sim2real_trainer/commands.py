"""`sim2real` subcommands owned by the trainer package (registered by sim2real_bringup.cli).

Each ``add_<name>(subparsers)`` declares one subcommand and sets its handler; handlers import
torch/LeRobot lazily so that other `sim2real` commands stay quick.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim2real_trainer.errors import TrainerError

GROUPS_HELP = "groups file: a path or a name under a robot package's config/, e.g. trainer/so101_groups.yaml"


def _episodes(text: str) -> tuple[int, ...]:
    """``"0,2,5"`` or an episodes.json written by filter-episodes (its ``selected`` list)."""
    path = Path(text)
    if path.suffix == ".json":
        if not path.is_file():
            raise argparse.ArgumentTypeError(f"episodes file {path} does not exist")
        return tuple(json.loads(path.read_text())["selected"])
    try:
        return tuple(int(e) for e in text.split(",") if e.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected episode indices like 0,2,5 or an episodes .json, got {text!r}") \
            from None


def _groups_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--action-groups", metavar="YAML", help=GROUPS_HELP + " (default: the groups file the "
                        "dataset's robot registers, else the groups: of its robot config)")


# -- train -----------------------------------------------------------------------------------
# Options that define a run: not accepted with --resume (the run keeps its own).
_RUN_DEFINING = ("dataset", "policy", "policy_config", "batch_size", "lr", "lr_schedule", "std_floor", "seed", "action_groups",
                 "loss_weighting", "episodes", "episodes_filter", "stats_override", "log_every",
                 "eval_seed", "eval_max_steps", "eval_scene")


def add_train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a LeRobot policy (ACT by default) on a local dataset",
        description="Train a LeRobot 0.4.4 policy on a local LeRobot dataset with LeRobot's own training "
                    "pieces; checkpoints are lerobot-train's (OUTPUT/checkpoints/NNNNNN, checkpoints/last), "
                    "loadable by the policy node. Writes OUTPUT/loss_curve.png at each save and, with "
                    "--eval-every, evaluates saved checkpoints in the sim (OUTPUT/eval.jsonl, eval_curve.png). "
                    "Offline machines: --policy-config pretrained_backbone_weights=null (ACT, Diffusion).")
    parser.add_argument("--dataset", type=Path, help="LeRobot dataset root folder (meta/info.json inside)")
    parser.add_argument("--output", type=Path, required=True, help="run folder (new, or the one to --resume)")
    parser.add_argument("--policy", help="LeRobot policy type (default act)")
    parser.add_argument("--policy-config", nargs="+", action="extend", metavar="KEY=VALUE",
                        help="policy config overrides, e.g. chunk_size=50 n_action_steps=50")
    parser.add_argument("--steps", type=int, help="total training steps (default 100000; with --resume: new total)")
    parser.add_argument("--batch-size", type=int, help="default 8")
    parser.add_argument("--lr", type=float, help="optimizer learning rate (default: the policy preset's)")
    parser.add_argument("--lr-schedule", choices=("preset", "cosine"),
                        help="preset: the policy's own (ACT: constant; default); cosine: LeRobot's cosine decay "
                             "after a 2 %% warm-up, down to lr/10 at --steps (a resume past it stays at lr/10)")
    parser.add_argument("--std-floor", type=float,
                        help="smallest normalisation std (and half-range) of any dimension, in its own units; keeps "
                             "near-constant inputs such as a fixed bowl from blowing jitter up (default 0.01; 0: "
                             "LeRobot's plain stats)")
    parser.add_argument("--save-every", type=int, help="checkpoint every N steps and at the end (default 20000)")
    parser.add_argument("--log-every", type=int, help="print the averaged metrics every N steps (default 200)")
    parser.add_argument("--eval-every", type=int, help="evaluate in sim every N steps, a multiple of --save-every "
                                                       "(default 0: never)")
    parser.add_argument("--eval-episodes", type=int, help="sim episodes per evaluation (default 10)")
    parser.add_argument("--eval-seed", type=int, help="seed of the first evaluation episode (default 10000)")
    parser.add_argument("--eval-max-steps", type=int, help="control ticks per evaluation episode (default 300)")
    parser.add_argument("--eval-scene", help="registered scene of the evaluation (default: the only one whose contract serves the policy)")
    parser.add_argument("--seed", type=int, help="training seed (default 1000)")
    parser.add_argument("--device", help="cpu (default), cuda, mps; multi-GPU through `accelerate launch`")
    parser.add_argument("--num-workers", type=int, help="data loader workers (default 4)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --output from its last checkpoint")
    parser.add_argument("--action-groups", metavar="YAML",
                        help=GROUPS_HELP + " (default: the groups file the dataset's robot registers; none: "
                             "LeRobot's uniform loss on every episode)")
    parser.add_argument("--loss-weighting", choices=("uniform", "per_group", "per_dimension"),
                        help="override the groups file's loss weighting strategy")
    parser.add_argument("--episodes", type=_episodes, help="train on these episodes: 0,2,5 or an episodes .json")
    parser.add_argument("--episodes-filter", metavar="NAME", help="train on the episodes a filter of the groups "
                                                                    "file keeps, e.g. arm_heavy")
    parser.add_argument("--stats-override", type=Path, metavar="JSON",
                        help="normalisation stats override (from `sim2real balance-stats`)")
    parser.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    from sim2real_trainer.policy_config import parse_overrides
    from sim2real_trainer.sim_eval import SimEvalConfig
    from sim2real_trainer.training import TrainOptions, resume, train

    if args.resume:
        fixed = [f"--{name.replace('_', '-')}" for name in _RUN_DEFINING if getattr(args, name) is not None]
        if fixed:
            raise TrainerError(f"--resume continues the run as it was configured; drop {', '.join(fixed)}")
        output = resume(args.output, steps=args.steps, save_every=args.save_every, eval_every=args.eval_every,
                        eval_episodes=args.eval_episodes, num_workers=args.num_workers, device=args.device)
    else:
        if args.dataset is None:
            raise TrainerError("--dataset is required (except with --resume)")
        default = TrainOptions(dataset=args.dataset, output=args.output)
        given = {name: value for name, value in vars(args).items() if value is not None}
        device = given.get("device", default.device)
        eval_config = SimEvalConfig(n_episodes=given.get("eval_episodes", default.eval.n_episodes),
                                    seed=given.get("eval_seed", default.eval.seed),
                                    max_steps=given.get("eval_max_steps", default.eval.max_steps),
                                    scene=given.get("eval_scene", default.eval.scene), device=device)
        options = TrainOptions(
            dataset=args.dataset, output=args.output, policy=given.get("policy", default.policy),
            policy_overrides=parse_overrides(given.get("policy_config", [])),
            steps=given.get("steps", default.steps), batch_size=given.get("batch_size", default.batch_size),
            lr=args.lr, lr_schedule=given.get("lr_schedule", default.lr_schedule),
            std_floor=given.get("std_floor", default.std_floor), save_every=given.get("save_every", default.save_every),
            log_every=given.get("log_every", default.log_every),
            eval_every=given.get("eval_every", default.eval_every), eval=eval_config,
            seed=given.get("seed", default.seed), device=device,
            num_workers=given.get("num_workers", default.num_workers),
            groups_config=given.get("action_groups", default.groups_config), loss_weighting=args.loss_weighting,
            episodes=args.episodes, episodes_filter=args.episodes_filter, stats_override=args.stats_override)
        output = train(options)
    print(f"checkpoints in {output / 'checkpoints'} (latest: checkpoints/last); serve with policy:={output}")
    return 0


# -- analyze-actions -------------------------------------------------------------------------
def add_analyze_actions(subparsers: argparse._SubParsersAction) -> None:
    from sim2real_trainer.action_analysis import NORMALIZATIONS

    parser = subparsers.add_parser(
        "analyze-actions", help="per-dimension and per-group action magnitudes, suggested loss weights",
        description="Action magnitude analysis: per dimension and group the spread and per-step motion (raw and "
                    "normalised), and per-group loss weights that even out the groups. Prints tables, writes "
                    "action_analysis.json and action_analysis.png.")
    parser.add_argument("--dataset", type=Path, required=True, help="LeRobot dataset root folder")
    _groups_argument(parser)
    parser.add_argument("--normalization", choices=NORMALIZATIONS, default="mean_std",
                        help="normalised space the policy's loss sees (ACT: mean_std, Diffusion: min_max)")
    parser.add_argument("-o", "--output", type=Path, help="output folder (default outputs/analysis/<dataset>/actions)")
    parser.set_defaults(handler=run_analyze_actions)


def run_analyze_actions(args: argparse.Namespace) -> int:
    from sim2real_trainer.action_analysis import analyze_actions, print_analysis, write_analysis
    from sim2real_trainer.groups import dataset_groups
    from sim2real_trainer.local_dataset import open_local_dataset

    dataset = open_local_dataset(args.dataset)
    analysis = analyze_actions(dataset, dataset_groups(dataset, args.action_groups), normalization=args.normalization)
    print_analysis(analysis)
    output = args.output or Path("outputs/analysis") / dataset.root.resolve().name / "actions"
    for path in write_analysis(analysis, output):
        print(f"wrote {path}")
    return 0


# -- balance-stats ---------------------------------------------------------------------------
def add_balance_stats(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "balance-stats", help="normalisation stats with one scale per action group (a training stats override)",
        description="Recompute normalisation statistics so that every dimension of a group shares the group's "
                    "scale (std: RMS over the group; min/max and quantiles: the group's widest half-range). "
                    "Train with them: sim2real train --stats-override <file>.")
    parser.add_argument("--dataset", type=Path, required=True, help="LeRobot dataset root folder")
    _groups_argument(parser)
    parser.add_argument("-o", "--output", type=Path,
                        help="override JSON (default outputs/analysis/<dataset>/balanced_stats.json)")
    parser.set_defaults(handler=run_balance_stats)


def run_balance_stats(args: argparse.Namespace) -> int:
    from sim2real_trainer.balanced_stats import balanced_stats, write_override
    from sim2real_trainer.groups import dataset_groups
    from sim2real_trainer.local_dataset import load_stats, open_local_dataset

    dataset = open_local_dataset(args.dataset)
    config = dataset_groups(dataset, args.action_groups)
    override = balanced_stats(dataset, config)
    stats = load_stats(dataset)
    for feature, values in override.items():
        if "std" in values:
            for group in config.groups.names:
                dims = list(config.groups.dims(group))
                before, after = _fmt(stats[feature]["std"][dims]), _fmt(values["std"][dims])
                print(f"{feature:<18} {group:<10} std {before} -> {after}")
    output = args.output or Path("outputs/analysis") / dataset.root.resolve().name / "balanced_stats.json"
    print(f"wrote {write_override(override, output)}\ntrain with: sim2real train --stats-override {output} ...")
    return 0


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"


# -- filter-episodes -------------------------------------------------------------------------
def add_filter_episodes(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "filter-episodes", help="select episodes by group activity (e.g. arm_heavy), write the list",
        description="Keep the episodes where a group's share of the action activity reaches the filter's "
                    "min_share (filters of the groups file). Writes the selection as JSON; train on it with "
                    "sim2real train --episodes <file> (or --episodes-filter <name>).")
    parser.add_argument("--dataset", type=Path, required=True, help="LeRobot dataset root folder")
    parser.add_argument("--filter", required=True, metavar="NAME", help="filter name, e.g. arm_heavy")
    _groups_argument(parser)
    parser.add_argument("-o", "--output", type=Path,
                        help="selection JSON (default outputs/analysis/<dataset>/episodes_<filter>.json)")
    parser.set_defaults(handler=run_filter_episodes)


def run_filter_episodes(args: argparse.Namespace) -> int:
    from sim2real_trainer.episode_filter import select_episodes
    from sim2real_trainer.groups import dataset_groups
    from sim2real_trainer.local_dataset import open_local_dataset

    dataset = open_local_dataset(args.dataset)
    selection = select_episodes(dataset, dataset_groups(dataset, args.action_groups), args.filter)
    for episode, shares in selection.shares.items():
        kept = "kept" if episode in selection.selected else "dropped"
        print(f"episode {episode:>4}  {selection.group} share {shares[selection.group]:.3f}  {kept}")
    total = len(selection.selected) + len(selection.rejected)
    output = args.output or Path("outputs/analysis") / dataset.root.resolve().name / f"episodes_{args.filter}.json"
    print(f"{args.filter}: kept {len(selection.selected)} of {total} episodes "
          f"({selection.group} share >= {selection.min_share})\nwrote {selection.write(output)}")
    return 0


# -- analyze-predictions ---------------------------------------------------------------------
def add_analyze_predictions(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze-predictions", help="checkpoint predictions vs recorded actions per joint; mode collapse",
        description="Run a checkpoint over train and validation episodes of a dataset and compare its actions "
                    "with the recorded ones per joint: time series, scatter plots with R², error histograms, "
                    "statistics.json and the joints in mode collapse (prediction std << ground-truth std).")
    parser.add_argument("--checkpoint", type=Path, required=True, help="checkpoint or training output folder")
    parser.add_argument("--dataset", type=Path, required=True, help="LeRobot dataset root folder")
    parser.add_argument("--val-episodes", type=_episodes,
                        help="validation episodes (default: those the run did not train on)")
    parser.add_argument("--train-episodes", type=_episodes,
                        help="train episodes to analyse (default: those the run trained on, minus validation)")
    parser.add_argument("--collapse-ratio", type=float, default=0.1,
                        help="mode collapse when pred std < ratio x ground-truth std (default 0.1)")
    parser.add_argument("--stride", type=int, default=1, help="analyse every N-th frame (default 1)")
    parser.add_argument("--device", default="cpu", help="inference device (default cpu)")
    parser.add_argument("-o", "--output", type=Path,
                        help="output folder (default: analysis/ in the checkpoint's step folder)")
    parser.set_defaults(handler=run_analyze_predictions)


def run_analyze_predictions(args: argparse.Namespace) -> int:
    from sim2real_trainer.local_dataset import open_local_dataset
    from sim2real_trainer.prediction_analysis import PredictionAnalysisConfig, analyze_checkpoint, print_statistics

    config = PredictionAnalysisConfig(collapse_ratio=args.collapse_ratio, stride=args.stride)
    statistics, output = analyze_checkpoint(
        args.checkpoint, open_local_dataset(args.dataset), args.output, config, device=args.device,
        val=list(args.val_episodes) if args.val_episodes is not None else None,
        train=list(args.train_episodes) if args.train_episodes is not None else None)
    print_statistics(statistics)
    print(f"wrote {output}")
    return 0


# -- sim-demos -------------------------------------------------------------------------------
def add_sim_demos(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim-demos", help="record scripted-expert demos in the sim as a LeRobot dataset",
        description="Run the scripted expert of a scene's task in the sim core (no ROS) and write a LeRobot v3 "
                    "dataset laid out by the scene's contract: joint positions, camera videos (the contract's "
                    "cameras and sizes; --cameras), optionally the privileged environment state, and the "
                    "expert's joint targets.")
    parser.add_argument("--scene", default="", help="registered scene (default: the only one with a scripted expert)")
    parser.add_argument("--output", type=Path, required=True, help="dataset root folder (must not exist)")
    parser.add_argument("--episodes", type=int, required=True, help="successful episodes to record")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    parser.add_argument("--max-frames", type=int, help="cut episodes after N frames (default: full episodes)")
    parser.add_argument("--cameras", default=None, metavar="NAME[:HxW],...|none",
                        help="cameras to record, e.g. overhead_cam:96x128,wrist_cam (default: the contract's, at "
                             "its sizes); none: no video")
    parser.add_argument("--environment-state", action="store_true",
                        help="also record observation.environment_state (privileged sim state: block xyz, "
                             "block quat wxyz, bowl xyz), as the contract serves it in sim")
    parser.add_argument("--action-noise", type=float, default=0.0, metavar="RAD",
                        help="DART demos: std of Gaussian noise added to the executed arm-joint targets; the dataset "
                             "keeps the expert's clean targets (default 0)")
    parser.set_defaults(handler=run_sim_demos)


def parse_cameras(text: str, available: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """``none`` or ``name[:HxW],...`` of the ``available`` cameras (default: their sizes)."""
    if text.strip().lower() == "none":
        return {}
    cameras = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, size = item.partition(":")
        if name not in available:
            raise TrainerError(f"--cameras: unknown camera {name!r}; the contract has {', '.join(available)}")
        try:
            height, width = (int(v) for v in size.lower().split("x")) if size else available[name]
        except ValueError:
            raise TrainerError(f"--cameras: camera size: expected HxW like 96x128, got {size!r}") from None
        cameras[name] = (height, width)
    return cameras


def run_sim_demos(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim2real_common.contract import load_contract
    from sim2real_common.registry import default_expert_scene, scene
    from sim2real_trainer.sim_demos import contract_cameras, record_expert_demos

    if args.output.exists():
        raise TrainerError(f"{args.output} already exists; choose a new dataset folder")
    scene_name = args.scene or default_expert_scene()
    cameras = None
    if args.cameras is not None:
        cameras = parse_cameras(args.cameras, contract_cameras(load_contract(scene(scene_name)[1].contract)))
    with tqdm(desc="expert episodes", unit="ep") as bar:
        summary = record_expert_demos(args.output, args.episodes, args.seed, scene=scene_name, max_frames=args.max_frames,
                                      cameras=cameras, environment_state=args.environment_state,
                                      action_noise=args.action_noise, progress=lambda seed, outcome: bar.update(1))
    print(f"wrote {summary.root}: {len(summary.seeds)} episodes, {summary.frames} frames "
          f"(seeds {summary.seeds[0]}..{summary.seeds[-1]}, skipped failed seeds: {summary.skipped or 'none'})")
    return 0


# -- eval-sim --------------------------------------------------------------------------------
def add_eval_sim(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval-sim", help="evaluate a checkpoint in the sim core (no ROS): success rate over seeded episodes",
        description="Run N seeded episodes of a registered scene in the sim core with a checkpoint loaded as the policy "
                    "node loads it, and write the evaluator's report (success rate, 95% Wilson interval, "
                    "failure classes, per-episode outcomes). The same figures as eval_sim.launch.py, without "
                    "the ROS graph.")
    parser.add_argument("--policy", required=True,
                        help="checkpoint folder, a `sim2real train` output (its latest), or any policy:= spec "
                             "of eval_sim.launch.py (expert, .zip, .pt, .onnx, openpi://...)")
    parser.add_argument("--episodes", type=int, default=50, help="episodes (default 50)")
    parser.add_argument("--seed", type=int, default=20_000,
                        help="seed of the first episode (default 20000: neither the demos' 0.. nor the in-training "
                             "evaluation's 10000..)")
    parser.add_argument("--scene", default="", help="registered scene (default: the only one whose contract serves "
                                                    "the policy; for the expert, the only one with an expert)")
    parser.add_argument("--max-steps", type=int, default=None, help="control ticks per episode (default: the task's)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--output", type=Path, help="report JSON (default <policy>/eval/sim_<seed>x<episodes>.json)")
    parser.set_defaults(handler=run_eval_sim)


def run_eval_sim(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim2real_sim.evaluation import write_report
    from sim2real_sim.task import success_outcome, task_class
    from sim2real_trainer.sim_eval import SimEvalConfig, evaluate_policy, load_for_eval

    try:
        config = SimEvalConfig(n_episodes=args.episodes, seed=args.seed, max_steps=args.max_steps, device=args.device,
                               scene=args.scene)
    except ValueError as err:
        raise TrainerError(str(err)) from None
    on_disk = args.policy != "expert" and not args.policy.startswith("openpi://")
    if on_disk and not Path(args.policy).exists():
        raise TrainerError(f"policy {args.policy} does not exist")
    policy, config = load_for_eval(args.policy, config)
    success = success_outcome(task_class(config.scene))
    report_name = f"sim_{args.seed}x{args.episodes}.json"
    output = args.output or (Path(args.policy) / "eval" if on_disk else Path("outputs/eval")) / report_name
    with tqdm(total=args.episodes, desc="sim episodes", unit="ep") as bar:
        successes = 0

        def done(episode: dict) -> None:
            nonlocal successes
            successes += episode["outcome"] == success
            bar.update(1)
            bar.set_postfix(success=f"{successes}/{bar.n}")

        report = evaluate_policy(policy, config, meta={"policy": args.policy, "scene": config.scene, "seed": args.seed,
                                                       "max_steps": args.max_steps}, on_episode=done)
    write_report(report, output)
    low, high = report["success_rate_ci95"]
    failures = ", ".join(f"{name} {n}" for name, n in report["failures"].items() if n) or "none"
    print(f"success {report['n_success']}/{report['n_episodes']} = {100 * report['success_rate']:.0f} % "
          f"(95 % CI {100 * low:.0f}-{100 * high:.0f} %); failures: {failures}; report {output}")
    return 0
