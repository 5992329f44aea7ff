"""Train a LeRobot 0.4.4 policy on a local dataset with LeRobot's own pieces, plus our hooks.

The loop is ``lerobot_train.train`` cut down to offline training, built from the same
functions (``make_dataset``, ``make_policy``, ``make_pre_post_processors``,
``make_optimizer_and_scheduler``, ``update_policy``, ``save_checkpoint``,
``update_last_checkpoint``, ``load_training_state``) under an ``accelerate.Accelerator`` created
as lerobot-train creates it. Checkpoints are therefore exactly lerobot-train's
(``checkpoints/NNNNNN/{pretrained_model,training_state}`` + ``checkpoints/last``), with
``train_config.json`` inside, so ``lerobot-train --config_path=... --resume=true`` and the
policy node both read them. Our additions: per-dimension loss weights (loss_weighting.py), a
stats override (balanced_stats.py), a floor under near-constant dimensions' normalisation scale
(std_floor.py), an optional cosine learning-rate schedule (LeRobot's scheduler), in-memory items
for camera-less datasets (item_cache.py), episode selection (episode_filter.py) and callbacks
(loss curve, sim evaluation). What lerobot-train does not know is kept in ``<output>/sim2real_trainer.json``
so that ``resume`` restores it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sim2real_trainer.balanced_stats import apply_override, load_override
from sim2real_trainer.callbacks import EVAL_CURVE, EVAL_LOG, LOSS_CURVE, TRAINING_LOG, LossCurve, SimEvaluation, TrainCallback
from sim2real_trainer.episode_filter import EPISODES_JSON, select_episodes
from sim2real_trainer.errors import ResumeError, TrainerError
from sim2real_trainer.groups import load_groups_config, registered_groups_file
from sim2real_trainer.item_cache import ItemCache, cacheable
from sim2real_trainer.local_dataset import LocalDataset, load_stats, open_local_dataset
from sim2real_trainer.loss_weighting import ActionLossWeighting, dimension_weights
from sim2real_trainer.policy_config import make_policy_config
from sim2real_trainer.sim_eval import SimEvalConfig
from sim2real_trainer.std_floor import DEFAULT_STD_FLOOR, apply_std_floor

RUN_FILE = "sim2real_trainer.json"
STATS_OVERRIDE_COPY = "stats_override.json"
LR_SCHEDULES = ("preset", "cosine")
COSINE_WARMUP_FRACTION = 0.02  # of the run's steps
COSINE_FINAL_LR_RATIO = 0.1  # the learning rate decays to this fraction of --lr by the last step


@dataclass(frozen=True)
class TrainOptions:
    """A new training run (the ``sim2real train`` options; defaults are lerobot-train's)."""

    dataset: Path
    output: Path
    policy: str = "act"
    policy_overrides: dict[str, str] = field(default_factory=dict)  # policy config key -> value text
    steps: int = 100_000
    batch_size: int = 8
    lr: float | None = None  # None: the policy preset's optimizer lr
    lr_schedule: str = "preset"  # "preset": the policy's own (ACT: constant); "cosine": warm-up, then decay
    std_floor: float = DEFAULT_STD_FLOOR  # normalisation scale of near-constant dimensions (0: LeRobot's)
    save_every: int = 20_000
    log_every: int = 200
    eval_every: int = 0  # 0: no sim evaluation; else a multiple of save_every
    eval: SimEvalConfig = field(default_factory=SimEvalConfig)
    seed: int = 1000
    device: str = "cpu"
    num_workers: int = 4
    groups_config: str | Path | None = None  # None: the groups file the dataset's robot registers, if any
    loss_weighting: str | None = None  # None: the groups file's strategy
    episodes: tuple[int, ...] | None = None  # None: all (or the filter's selection)
    episodes_filter: str | None = None  # a filter name of the groups file
    stats_override: Path | None = None  # JSON {feature: {stat: values}} (balance-stats)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "save_every", "log_every"):
            if getattr(self, name) < 1:
                raise TrainerError(f"{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        check_schedule(self.save_every, self.eval_every)
        if self.num_workers < 0:
            raise TrainerError(f"num-workers must be >= 0, got {self.num_workers}")
        if self.lr is not None and self.lr <= 0:
            raise TrainerError(f"lr must be > 0, got {self.lr}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise TrainerError(f"lr-schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.std_floor < 0:
            raise TrainerError(f"std-floor must be >= 0, got {self.std_floor}")
        if self.episodes is not None and self.episodes_filter is not None:
            raise TrainerError("give either episodes or an episodes filter, not both")


def check_schedule(save_every: int, eval_every: int) -> None:
    """Evaluation loads the checkpoint it scores, so it runs at save steps only."""
    if eval_every < 0 or (eval_every and eval_every % save_every):
        raise TrainerError(f"eval-every must be 0 or a multiple of save-every ({save_every}), got {eval_every}")


@dataclass(frozen=True)
class RunState:
    """What a run needs beyond LeRobot's TrainPipelineConfig (``<output>/sim2real_trainer.json``)."""

    loss_weights: list[float] | None  # per action dimension, mean 1; None: LeRobot's own loss
    loss_weighting: str
    groups_config: str  # the groups file ('': none)
    eval_every: int
    eval: SimEvalConfig

    def write(self, output: Path) -> None:
        (output / RUN_FILE).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def read(cls, output: Path) -> RunState:
        raw = json.loads((output / RUN_FILE).read_text())
        return cls(**{**raw, "eval": SimEvalConfig(**raw["eval"])})


def train(options: TrainOptions, callbacks: list[TrainCallback] | None = None) -> Path:
    """Train from scratch into ``options.output`` (must not exist); returns the output folder."""
    from lerobot.configs.default import DatasetConfig, EvalConfig
    from lerobot.configs.train import TrainPipelineConfig

    dataset = open_local_dataset(options.dataset)
    main_process = _process_state(options.device).is_main_process
    if main_process and options.output.exists():
        _reuse_output(options.output)
    groups_file = options.groups_config if options.groups_config is not None else registered_groups_file(dataset)
    if groups_file is None and (options.episodes_filter or options.loss_weighting not in (None, "uniform")):
        raise TrainerError(f"an episodes filter or loss weighting needs the groups file that defines it: the robot of "
                           f"{dataset.root} registers none, pass --action-groups")
    groups = load_groups_config(groups_file).with_strategy(options.loss_weighting) if groups_file is not None else None
    weighted = groups is not None and groups.loss_weighting.strategy != "uniform"
    if weighted or options.episodes_filter:
        groups.check_dim(dataset.dim("action"), f"the action of {dataset.root}")
    override = (options.stats_override, load_override(options.stats_override)) if options.stats_override else None
    if override:
        apply_override(load_stats(dataset), override[1], override[0])  # a bad file fails before the run starts
    selection = select_episodes(dataset, groups, options.episodes_filter) if options.episodes_filter else None
    episodes = selection.selected if selection else _checked_episodes(options.episodes, dataset)

    cfg = TrainPipelineConfig(
        dataset=DatasetConfig(repo_id=dataset.repo_id, root=str(dataset.root.resolve()), episodes=episodes),
        policy=make_policy_config(options.policy, options.policy_overrides, device=options.device),
        output_dir=options.output, seed=options.seed, num_workers=options.num_workers,
        batch_size=options.batch_size, steps=options.steps, save_freq=options.save_every,
        log_freq=options.log_every, eval_freq=options.eval_every,
        eval=EvalConfig(n_episodes=options.eval.n_episodes, batch_size=1),
    )
    cfg.validate()  # LeRobot's checks; sets the policy's optimizer and scheduler presets
    if options.lr is not None:
        cfg.optimizer.lr = options.lr
    if options.lr_schedule == "cosine":
        cfg.scheduler = _cosine_schedule(cfg.optimizer.lr, options.steps)
    state = RunState(
        loss_weights=dimension_weights(groups.loss_weighting, groups.groups).tolist() if weighted else None,
        loss_weighting=groups.loss_weighting.strategy if groups else "uniform",
        groups_config=str(groups.path) if groups else "",
        eval_every=options.eval_every, eval=options.eval,
    )
    def edit_stats(dataset: Any) -> None:
        if override is not None:
            apply_override(dataset.meta.stats, override[1], override[0])
        if options.std_floor > 0:
            names = {key: f.get("names") for key, f in dataset.meta.features.items() if isinstance(f.get("names"), list)}
            model_io = {key: stats for key, stats in dataset.meta.stats.items()
                        if key == "action" or key.startswith("observation.")}  # not the index columns
            raised = apply_std_floor(model_io, options.std_floor, names)
            if raised and main_process:
                tqdm.write(f"normalisation scale raised to the std floor {options.std_floor:g} for the near-constant "
                           f"{', '.join(raised)}")

    try:
        if main_process:
            options.output.mkdir(parents=True, exist_ok=True)
            state.write(options.output)
            if selection:
                selection.write(options.output / EPISODES_JSON)
            if options.stats_override:
                shutil.copyfile(options.stats_override, options.output / STATS_OVERRIDE_COPY)
        _process_state(options.device).wait_for_everyone()
        return _run(cfg, state, callbacks, edit_stats)
    except BaseException:
        if main_process and last_checkpoint_step(options.output) is None:
            _remove_run_files(options.output)  # nothing was saved: the same command can run again
        raise


# Files a run writes into its output folder besides checkpoints/ (callbacks: logs and curves).
RUN_ENTRIES = (RUN_FILE, EPISODES_JSON, STATS_OVERRIDE_COPY, TRAINING_LOG, LOSS_CURVE, EVAL_LOG, EVAL_CURVE,
               "eval", "checkpoints")


def last_checkpoint_step(output: Path) -> int | None:
    """The step of ``output``'s checkpoints/last (lerobot-train's layout), None without one."""
    last = output / "checkpoints" / "last"
    if not (last / "pretrained_model" / "train_config.json").is_file():
        return None
    try:
        return int(json.loads((last / "training_state" / "training_step.json").read_text())["step"])
    except (OSError, ValueError, KeyError):
        return None


def _reuse_output(output: Path) -> None:
    """A new run may go into an empty folder, or into one left by a run that failed before its first
    checkpoint (its files are replaced); anything else is refused with what to do."""
    if not output.is_dir():
        raise TrainerError(f"output {output} exists and is not a directory; choose another --output")
    entries = sorted(p.name for p in output.iterdir())
    if not entries:
        return
    if not (output / RUN_FILE).is_file():
        raise TrainerError(f"output directory {output} already exists and is not a `sim2real train` run (no "
                           f"{RUN_FILE}; it holds {entries[:5]}); choose another --output")
    step = last_checkpoint_step(output)
    if step is not None:
        raise TrainerError(f"output directory {output} already exists; pass --resume to continue that run (last "
                           f"checkpoint: step {step}) or choose another --output")
    foreign = [e for e in entries if e not in RUN_ENTRIES]
    if foreign:
        raise TrainerError(f"output directory {output} holds a run that saved no checkpoint, and also {foreign[:5]}; "
                           "move those or choose another --output")
    tqdm.write(f"{output}: a run that stopped before its first checkpoint; starting it afresh")
    _remove_run_files(output)


def _remove_run_files(output: Path) -> None:
    """Remove what a run without a checkpoint wrote (and the folder, when that leaves it empty)."""
    for name in RUN_ENTRIES:
        path = output / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()
    if output.is_dir() and not any(output.iterdir()):
        output.rmdir()


def _cosine_schedule(lr: float, steps: int) -> Any:
    """LeRobot's cosine decay with linear warm-up, spread over this run's steps."""
    from lerobot.optim.schedulers import CosineDecayWithWarmupSchedulerConfig

    return CosineDecayWithWarmupSchedulerConfig(
        num_warmup_steps=max(1, round(COSINE_WARMUP_FRACTION * steps)), num_decay_steps=steps,
        peak_lr=lr, decay_lr=lr * COSINE_FINAL_LR_RATIO)


def resume(output: Path, *, steps: int | None = None, save_every: int | None = None,
           eval_every: int | None = None, eval_episodes: int | None = None, num_workers: int | None = None,
           device: str | None = None, callbacks: list[TrainCallback] | None = None) -> Path:
    """Continue the run in ``output`` from its last checkpoint, optionally to more ``steps``."""
    from lerobot.utils.constants import (
        CHECKPOINTS_DIR,
        LAST_CHECKPOINT_LINK,
        PRETRAINED_MODEL_DIR,
        TRAINING_STATE_DIR,
    )
    from lerobot.utils.train_utils import load_training_step

    last = output / CHECKPOINTS_DIR / LAST_CHECKPOINT_LINK
    if not output.is_dir():
        raise ResumeError(f"cannot resume {output}: no such directory")
    if not (output / RUN_FILE).is_file():
        raise ResumeError(f"cannot resume {output}: no {RUN_FILE} in it (not a `sim2real train` run)")
    if not (last / PRETRAINED_MODEL_DIR / "train_config.json").is_file():
        what = ("has no checkpoint yet (the run stopped before its first save)" if not last.exists() else
                f"has no {CHECKPOINTS_DIR}/{LAST_CHECKPOINT_LINK}/{PRETRAINED_MODEL_DIR}/train_config.json "
                "(an incomplete checkpoint)")
        raise ResumeError(f"cannot resume {output}: it {what}; run the same `sim2real train` command without "
                          "--resume to start it afresh in that folder")
    cfg = _read_train_config(last / PRETRAINED_MODEL_DIR / "train_config.json")
    cfg.resume = True
    cfg.checkpoint_path = last
    cfg.policy.pretrained_path = last / PRETRAINED_MODEL_DIR
    cfg.output_dir = output
    state = RunState.read(output)
    cfg.steps = steps if steps is not None else cfg.steps
    done = load_training_step(last / TRAINING_STATE_DIR)
    if done >= cfg.steps:
        raise ResumeError(f"{output} is already at step {done}; pass --steps above it to train on")
    cfg.save_freq = save_every if save_every is not None else cfg.save_freq
    cfg.num_workers = num_workers if num_workers is not None else cfg.num_workers
    cfg.policy.device = device if device is not None else cfg.policy.device
    every = eval_every if eval_every is not None else state.eval_every
    check_schedule(cfg.save_freq, every)
    eval_config = SimEvalConfig(**{**asdict(state.eval), "device": cfg.policy.device,
                                   "n_episodes": eval_episodes or state.eval.n_episodes})
    state = RunState(state.loss_weights, state.loss_weighting, state.groups_config, every, eval_config)
    if _process_state(cfg.policy.device).is_main_process:
        state.write(output)
    return _run(cfg, state, callbacks, None)


def _read_train_config(path: Path) -> Any:
    """train_config.json decoded as TrainPipelineConfig.from_pretrained decodes it, without building
    draccus' command-line parser (seconds of docstring parsing)."""
    import draccus
    import lerobot.policies  # noqa: F401  (registers the policy config classes the file names)
    from lerobot.configs.train import TrainPipelineConfig

    with draccus.config_type("json"):
        return draccus.decode(TrainPipelineConfig, json.loads(path.read_text()))


def _checked_episodes(episodes: tuple[int, ...] | None, dataset: LocalDataset) -> list[int] | None:
    if episodes is None:
        return None
    bad = [e for e in episodes if not 0 <= e < dataset.total_episodes]
    if bad or not episodes:
        raise TrainerError(f"episodes {bad or '(none)'}: {dataset.root} has episodes 0..{dataset.total_episodes - 1}")
    return sorted(set(episodes))


def default_callbacks(output: Path, state: RunState) -> list[TrainCallback]:
    callbacks: list[TrainCallback] = [LossCurve(output)]
    if state.eval_every:
        callbacks.append(SimEvaluation(output, state.eval_every, state.eval))
    return callbacks


def _make_policy(cfg: Any, dataset: Any) -> Any:
    """LeRobot's make_policy; a download that fails (offline machine) is one line saying what it
    tried to fetch and how to train without it, a config value it cannot build one naming it."""
    import urllib.error

    from lerobot.policies.factory import make_policy

    try:
        return make_policy(cfg=cfg.policy, ds_meta=dataset.meta, rename_map=cfg.rename_map)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        raise TrainerError(_download_failure(cfg.policy, err)) from None
    except (AttributeError, TypeError, ValueError) as err:  # a config value LeRobot accepted but cannot build
        raise TrainerError(f"{cfg.policy.type} policy cannot be built from its config ({type(err).__name__}: {err}); "
                           "check the --policy-config values") from None


def _download_failure(policy: Any, err: OSError) -> str:
    import torch

    reason = getattr(err, "reason", None) or err
    weights = getattr(policy, "pretrained_backbone_weights", None)
    if not weights:
        return (f"{policy.type} policy: a download failed ({reason}); on a machine without network use a "
                "policy that needs no pretrained weights, or fetch them where there is network first")
    try:
        from torchvision.models import get_weight

        url = get_weight(weights).url
    except (ImportError, ValueError, KeyError, AttributeError):
        url = "torchvision's download server"
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    return (f"{policy.type} policy: cannot download the pretrained backbone weights {weights} from {url} ({reason}); "
            "train without them (random init) with --policy-config pretrained_backbone_weights=null, or put the "
            f"file {url.rsplit('/', 1)[-1]} into {cache}/ (torch hub cache, moved by TORCH_HOME)")


def _process_state(device: str) -> Any:
    """This process under `accelerate launch` (one process otherwise); the Accelerator shares it."""
    from accelerate import PartialState

    return PartialState(cpu=device == "cpu")


def _accelerator(cfg: Any) -> Any:
    """As lerobot-train makes it: CPU when the policy asks for it, else what accelerate finds."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    return Accelerator(step_scheduler_with_optimizer=False, cpu=cfg.policy.device == "cpu",
                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])


def _processors(cfg: Any, dataset: Any, device: Any) -> tuple[Any, Any]:
    """New runs normalise with the dataset's stats; resumed runs keep the checkpoint's own."""
    from lerobot.policies.factory import make_pre_post_processors

    if cfg.resume:
        return make_pre_post_processors(cfg.policy, pretrained_path=str(cfg.policy.pretrained_path),
                                        preprocessor_overrides={"device_processor": {"device": device.type}})
    return make_pre_post_processors(cfg.policy, dataset_stats=dataset.meta.stats)


def _dataloader(cfg: Any, dataset: Any, device: Any) -> Any:
    import torch
    from lerobot.datasets.sampler import EpisodeAwareSampler

    sampler = None
    if hasattr(cfg.policy, "drop_n_last_frames"):  # as lerobot-train: episode-aware sampling
        sampler = EpisodeAwareSampler(
            dataset.meta.episodes["dataset_from_index"], dataset.meta.episodes["dataset_to_index"],
            episode_indices_to_use=dataset.episodes, drop_n_last_frames=cfg.policy.drop_n_last_frames,
            shuffle=True)
    items = ItemCache(dataset) if cacheable(dataset, cfg.num_workers) else dataset
    return torch.utils.data.DataLoader(
        items, num_workers=cfg.num_workers, batch_size=cfg.batch_size, shuffle=sampler is None,
        sampler=sampler, pin_memory=device.type == "cuda", drop_last=False,
        prefetch_factor=2 if cfg.num_workers > 0 else None)


def _run(cfg: Any, state: RunState, callbacks: list[TrainCallback] | None,
         edit_stats: Callable[[Any], None] | None) -> Path:
    """The training loop; ``edit_stats(dataset)`` changes the dataset stats before the processors
    are made from them (new runs only: a resumed run keeps its checkpoint's processors)."""
    from lerobot.datasets.factory import make_dataset
    from lerobot.datasets.utils import cycle
    from lerobot.optim.factory import make_optimizer_and_scheduler
    from lerobot.scripts.lerobot_train import update_policy
    from lerobot.utils.logging_utils import AverageMeter, MetricsTracker
    from lerobot.utils.random_utils import set_seed
    from lerobot.utils.train_utils import (
        get_step_checkpoint_dir,
        load_training_state,
        save_checkpoint,
        update_last_checkpoint,
    )

    accelerator = _accelerator(cfg)
    main_process = accelerator.is_main_process
    callbacks = default_callbacks(cfg.output_dir, state) if callbacks is None else callbacks
    if cfg.seed is not None:
        set_seed(cfg.seed, accelerator=accelerator)
    device = accelerator.device
    dataset = make_dataset(cfg)
    if edit_stats is not None:
        edit_stats(dataset)
    policy = _make_policy(cfg, dataset)
    if state.loss_weights is not None:
        ActionLossWeighting(state.loss_weights).attach(policy, cfg.policy.type)
    preprocessor, postprocessor = _processors(cfg, dataset, device)
    optimizer, lr_scheduler = make_optimizer_and_scheduler(cfg, policy)
    step = 0
    if cfg.resume:
        step, optimizer, lr_scheduler = load_training_state(cfg.checkpoint_path, optimizer, lr_scheduler)

    dataloader = _dataloader(cfg, dataset, device)
    policy, optimizer, dataloader, lr_scheduler = accelerator.prepare(policy, optimizer, dataloader, lr_scheduler)
    batches = cycle(dataloader)
    meters = {"loss": AverageMeter("loss", ":.3f"), "grad_norm": AverageMeter("grdn", ":.3f"),
              "lr": AverageMeter("lr", ":0.1e"), "update_s": AverageMeter("updt_s", ":.3f"),
              "dataloading_s": AverageMeter("data_s", ":.3f")}
    tracker = MetricsTracker(cfg.batch_size, dataset.num_frames, dataset.num_episodes, meters,
                             initial_step=step, accelerator=accelerator)
    if main_process:
        for callback in callbacks:
            callback.on_start(step, cfg.steps)
    progress = tqdm(total=cfg.steps, initial=step, desc="Training", unit="step", disable=not main_process)
    policy.train()
    while step < cfg.steps:
        start = time.perf_counter()
        batch = preprocessor(next(batches))
        tracker.dataloading_s = time.perf_counter() - start
        tracker, _ = update_policy(tracker, policy, batch, optimizer, cfg.optimizer.grad_clip_norm,
                                   accelerator=accelerator, lr_scheduler=lr_scheduler)
        step += 1
        tracker.step()
        progress.update(1)
        saving = step % cfg.save_freq == 0 or step == cfg.steps
        if main_process:
            metrics = {name: tracker.metrics[name].val for name in ("loss", "grad_norm", "lr", "update_s",
                                                                    "dataloading_s")}
            progress.set_postfix(loss=f"{metrics['loss']:.4f}")
            for callback in callbacks:
                callback.on_step(step, metrics)
            if cfg.log_freq > 0 and step % cfg.log_freq == 0:
                tqdm.write(str(tracker))
                tracker.reset_averages()
        if main_process and saving:
            checkpoint_dir = get_step_checkpoint_dir(cfg.output_dir, cfg.steps, step)
            save_checkpoint(checkpoint_dir=checkpoint_dir, step=step, cfg=cfg,
                            policy=accelerator.unwrap_model(policy), optimizer=optimizer,
                            scheduler=lr_scheduler, preprocessor=preprocessor, postprocessor=postprocessor)
            update_last_checkpoint(checkpoint_dir)
            for callback in callbacks:
                callback.on_checkpoint(step, checkpoint_dir)
        if saving:
            accelerator.wait_for_everyone()
    progress.close()
    accelerator.end_training()
    return Path(cfg.output_dir)

