"""Train PPO on a registered env id into a run folder the policy node serves directly (names:
run_files.py): ``model.zip``, ``vecnormalize.pkl`` and ``model.yaml`` (layout.py), plus
checkpoints every ``checkpoint_every`` env-steps (with their VecNormalize statistics),
``best_model.zip`` from the evaluation callback, ``eval/evaluations.npz``, ``monitor/``,
``train_config.yaml`` and ``reward_curve.png``.

``train_config.yaml`` is written when the run starts: ``resume_rl`` reads the run from it and
continues from the last checkpoint, counting steps on. A run that saved no checkpoint has nothing
to continue: it is removed when it fails, and a new run in its folder starts afresh (also after a
kill that left the folder behind). Ctrl-C saves a checkpoint first.
"""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from sim2real_common.config_files import load_yaml
from sim2real_common.errors import ConfigError, brief
from sim2real_trainer.errors import ResumeError, TrainerError
from sim2real_trainer.rl.hyperparams import Preset, parse_preset
from sim2real_trainer.rl.run_files import CHECKPOINT_PREFIX, RunFiles

_CONFIG_KEYS = ("env_id", "preset", "hyperparameters", "seed", "device", "total_steps", "steps",
                "checkpoint_every", "eval_every", "eval_episodes", "status")


@dataclass(frozen=True)
class RlRun:
    env_id: str
    output: Path
    preset: Preset
    seed: int = 0
    steps: int | None = None  # total env-steps; None: the preset's n_timesteps
    checkpoint_every: int = 50_000  # env-steps
    eval_every: int = 25_000  # env-steps
    eval_episodes: int = 5
    device: str = "cpu"

    @property
    def total_steps(self) -> int:
        return self.steps if self.steps is not None else self.preset.n_timesteps


# -- train_config.yaml -----------------------------------------------------------------------
def write_run_config(run: RlRun, steps: int, status: str) -> Path:
    """What was run (and how far it got): the env id, the preset and its settings, seed, steps."""
    files = RunFiles(run.output)
    data = {"env_id": run.env_id, "preset": {"name": run.preset.name, "source": run.preset.source},
            "hyperparameters": run.preset.settings(), "seed": run.seed, "device": run.device,
            "total_steps": run.total_steps, "steps": int(steps), "checkpoint_every": run.checkpoint_every,
            "eval_every": run.eval_every, "eval_episodes": run.eval_episodes, "status": status}
    tmp = files.config.with_suffix(".tmp")
    tmp.write_text("# sim2real train-rl: what was run (--resume reads it)\n" + yaml.safe_dump(data, sort_keys=False))
    tmp.replace(files.config)
    return files.config


def read_run_config(output: Path) -> tuple[RlRun, int]:
    """The run ``write_run_config`` wrote, and the steps it had recorded."""
    path = RunFiles(output).config
    if not path.is_file():
        raise ResumeError(f"{output} is not a train-rl run (no train_config.yaml); start one without --resume")
    data = load_yaml(path)
    missing = [key for key in _CONFIG_KEYS if key not in data]
    if missing:
        raise ConfigError(path, missing[0], "missing: the file is not the one train-rl wrote")
    preset = parse_preset(data["hyperparameters"], name=data["preset"]["name"], source=data["preset"]["source"])
    run = RlRun(env_id=data["env_id"], output=output, preset=preset, seed=data["seed"], steps=data["total_steps"],
                checkpoint_every=data["checkpoint_every"], eval_every=data["eval_every"],
                eval_episodes=data["eval_episodes"], device=data["device"])
    return run, int(data["steps"])


# -- runs ------------------------------------------------------------------------------------
def train_rl(run: RlRun) -> Path:
    """A new run in ``run.output`` (new or empty, or holding a run that saved no checkpoint)."""
    files = RunFiles(run.output)
    if run.output.exists() and any(run.output.iterdir()):
        if not files.config.is_file() or files.has_progress():
            raise TrainerError(f"{run.output} already holds a run; pass --resume to continue it or choose a new folder")
        print(f"{run.output} holds a run that saved no checkpoint: starting it afresh")
        shutil.rmtree(run.output)
    run.output.mkdir(parents=True, exist_ok=True)
    write_run_config(run, 0, "running")
    try:
        return _learn(run, start=0)
    except BaseException:
        if not files.checkpoint_steps():
            shutil.rmtree(run.output, ignore_errors=True)  # nothing worth keeping: the retry starts afresh
        raise


def resume_rl(output: Path, *, steps: int | None = None, checkpoint_every: int | None = None,
              eval_every: int | None = None, device: str | None = None) -> Path:
    """Continue the run in ``output`` from its last checkpoint up to ``steps`` in total (default:
    the run's own total); the cadences and the device may change, nothing else."""
    run, _ = read_run_config(output)
    changes = {"steps": steps, "checkpoint_every": checkpoint_every, "eval_every": eval_every, "device": device}
    run = replace(run, **{key: value for key, value in changes.items() if value is not None})
    done = last_checkpoint(output)[2]
    if run.total_steps <= done:
        raise ResumeError(f"{output}: the run is at {done} of {run.total_steps} steps; pass --steps with a larger "
                          "total to train on")
    write_run_config(run, done, "running")
    return _learn(run, start=done)


def last_checkpoint(output: Path) -> tuple[Path, Path | None, int]:
    """(model zip, its VecNormalize pickle or None, env-steps) of the newest checkpoint."""
    files = RunFiles(output)
    found = files.checkpoint_steps()
    if not found:
        raise ResumeError(f"{output}: no checkpoint to resume from (checkpoints/rl_model_<steps>_steps.zip); "
                          "run without --resume to start afresh")
    model, stats = files.checkpoint(found[-1])
    return model, stats if stats.is_file() else None, found[-1]


def _learn(run: RlRun, *, start: int) -> Path:
    from stable_baselines3.common.callbacks import CheckpointCallback
    from stable_baselines3.common.vec_env import VecNormalize

    from sim2real_trainer.rl.callbacks import RunEvaluation, SaveBestStats
    from sim2real_trainer.rl.curves import plot_rewards
    from sim2real_trainer.rl.layout import env_layout, write_sidecars
    from sim2real_trainer.rl.vec import make_envs

    files, preset = RunFiles(run.output), run.preset
    checkpoint = last_checkpoint(run.output) if start else None
    if checkpoint is not None and preset.normalize and checkpoint[1] is None:
        raise ResumeError(f"{checkpoint[0]}: its VecNormalize statistics ({files.checkpoint(start)[1].name}) are "
                          "missing; remove the checkpoint to resume from the one before")
    # a resume seeds its envs anew (seed + start), so that it does not replay the first episodes
    venv = make_envs(run.env_id, preset, run.seed + start, resume_stats=checkpoint[1] if checkpoint else None,
                     monitor_dir=files.monitor_segment(start))
    normalized = isinstance(venv, VecNormalize)
    # one env of the same kind; its statistics follow the training envs' (EvalCallback syncs them)
    eval_env = make_envs(run.env_id, replace(preset, n_envs=1, normalize=preset.normalize or normalized),
                         run.seed + 10_000, training=False)
    try:
        layout, why = env_layout(run.env_id, preset.env_kwargs)
        if layout is None:
            print(f"no model.yaml: {why}; serve the model with a layout of your own (sb3_layout.py)")
        else:
            write_sidecars(files, layout, normalized=normalized)
        model = _resume_model(checkpoint[0], venv, run) if checkpoint else _new_model(venv, run)
        n_envs = venv.num_envs
        evaluation = RunEvaluation(eval_env, best_model_save_path=str(run.output), log_path=str(files.eval_dir),
                                   eval_freq=max(1, run.eval_every // n_envs), n_eval_episodes=run.eval_episodes,
                                   deterministic=True, verbose=0,
                                   callback_on_new_best=SaveBestStats(files.best_vecnormalize))
        checkpoints = CheckpointCallback(max(1, run.checkpoint_every // n_envs), str(files.checkpoints),
                                         CHECKPOINT_PREFIX, save_vecnormalize=normalized)
        try:
            model.learn(run.total_steps - start, callback=[checkpoints, evaluation], progress_bar=_progress_bar(),
                        reset_num_timesteps=start == 0, tb_log_name="PPO")
        except KeyboardInterrupt:
            if model.num_timesteps > start:
                write_run_config(run, _save_checkpoint(model, files), "interrupted")
            raise
        model.save(files.model)
        if normalized:
            venv.save(str(files.vecnormalize))
        steps = _save_checkpoint(model, files)  # the last checkpoint is the end of the run: a resume goes on from it
    finally:
        venv.close()
        eval_env.close()
    write_run_config(run, steps, "finished")
    plot_rewards(files, run.env_id)
    return run.output


def _new_model(venv: Any, run: RlRun) -> Any:
    from stable_baselines3 import PPO

    try:
        return PPO(run.preset.policy, venv, seed=run.seed, device=run.device, tensorboard_log=_tensorboard(run),
                   **run.preset.ppo_arguments())
    except (AssertionError, ValueError, TypeError) as err:  # PPO's own checks, e.g. batch_size > 1
        raise ConfigError(run.preset.source or "<SB3 defaults>", run.preset.name,
                          f"PPO rejects the preset: {brief(err) or type(err).__name__}") from err


def _resume_model(path: Path, venv: Any, run: RlRun) -> Any:
    from stable_baselines3 import PPO

    try:
        return PPO.load(path, env=venv, device=run.device, tensorboard_log=_tensorboard(run))
    except Exception as err:  # a truncated or foreign zip fails in many ways (BadZipFile, KeyError, RuntimeError...)
        raise ResumeError(f"{path}: cannot load the checkpoint ({brief(err)}); remove it to resume from the one "
                          "before") from err


def _save_checkpoint(model: Any, files: RunFiles) -> int:
    """The model (and its VecNormalize statistics) as CheckpointCallback would save it now."""
    steps = int(model.num_timesteps)
    path, stats = files.checkpoint(steps)
    files.checkpoints.mkdir(parents=True, exist_ok=True)
    model.save(path)
    if model.get_vec_normalize_env() is not None:
        model.get_vec_normalize_env().save(str(stats))
    return steps


def _tensorboard(run: RlRun) -> str | None:
    if importlib.util.find_spec("tensorboard") is None:
        print("tensorboard is not installed: training without TensorBoard logs")
        return None
    return str(RunFiles(run.output).tensorboard)


def _progress_bar() -> bool:
    missing = [name for name in ("tqdm", "rich") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"{' and '.join(missing)} not installed: training without a progress bar")
        return False
    from tqdm import TqdmExperimentalWarning

    warnings.filterwarnings("ignore", category=TqdmExperimentalWarning)  # SB3's bar is tqdm.rich
    return True
