"""Train PPO on a registered env id into an output folder the policy node serves directly:
``model.zip``, ``vecnormalize.pkl`` and ``model.yaml`` (the env's SB3 layout, when the env gives
one: ``policy_layout()``), plus ``checkpoints/``, ``best_model.zip`` (+ ``best_vecnormalize.pkl``)
from the evaluation callback, ``eval/evaluations.npz``, ``train_config.yaml`` and
``reward_curve.png``. ``resume`` continues from the last checkpoint; a run that fails before its
first checkpoint leaves nothing, so its retry starts afresh."""

from __future__ import annotations

import importlib.util
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from stable_baselines3.common.callbacks import BaseCallback

from sim2real_trainer.errors import ResumeError, TrainerError
from sim2real_trainer.rl.curves import plot_rewards
from sim2real_trainer.rl.hyperparams import Preset
from sim2real_trainer.rl.vec import VECNORMALIZE, make_envs

CHECKPOINTS, PREFIX = "checkpoints", "rl_model"


@dataclass(frozen=True)
class RlRun:
    env_id: str
    output: Path
    preset: Preset
    seed: int = 0
    steps: int | None = None  # None: the preset's n_timesteps
    checkpoint_every: int = 50_000  # env-steps
    eval_every: int = 25_000  # env-steps
    eval_episodes: int = 5
    resume: bool = False
    device: str = "cpu"

    @property
    def total_steps(self) -> int:
        return self.steps if self.steps is not None else self.preset.n_timesteps


def last_checkpoint(output: Path) -> tuple[Path, Path | None, int]:
    """(model zip, its VecNormalize pickle or None, env-steps) of the newest checkpoint."""
    found = sorted(((int(m.group(1)), p) for p in (output / CHECKPOINTS).glob(f"{PREFIX}_*_steps.zip")
                    if (m := re.fullmatch(rf"{PREFIX}_(\d+)_steps\.zip", p.name))), key=lambda item: item[0])
    if not found:
        raise ResumeError(f"{output}: no checkpoint to resume from ({CHECKPOINTS}/{PREFIX}_<steps>_steps.zip); "
                          "run without --resume to start afresh (after removing the folder)")
    steps, model = found[-1]
    stats = output / CHECKPOINTS / f"{PREFIX}_vecnormalize_{steps}_steps.pkl"
    return model, stats if stats.exists() else None, steps


def train_rl(run: RlRun) -> Path:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback

    output = run.output
    if run.resume:
        model_path, stats, done = last_checkpoint(output)
    elif output.exists() and any(output.iterdir()):
        raise TrainerError(f"{output} already holds a run; pass --resume to continue it or choose a new folder")
    fresh = not run.resume
    output.mkdir(parents=True, exist_ok=True)
    try:
        venv = make_envs(run.env_id, run.preset, run.seed, resume_stats=stats if run.resume else None)
        normalized = hasattr(venv, "obs_rms")
        eval_env = make_envs(run.env_id, Preset(name="eval", source="", normalize=normalized), run.seed + 1,
                             training=False)  # its statistics follow the training envs' (EvalCallback syncs them)
        n_envs = venv.num_envs
        tensorboard = str(output / "tensorboard") if importlib.util.find_spec("tensorboard") else None
        if tensorboard is None:
            print("tensorboard is not installed: training without TensorBoard logs")
        if run.resume:
            model = PPO.load(model_path, env=venv, device=run.device, tensorboard_log=tensorboard)
            remaining = max(0, run.total_steps - done)
        else:
            model = PPO("MlpPolicy", venv, seed=run.seed, device=run.device, tensorboard_log=tensorboard,
                        **run.preset.ppo)
            remaining = run.total_steps
        callbacks = [
            CheckpointCallback(max(1, run.checkpoint_every // n_envs), str(output / CHECKPOINTS), PREFIX,
                               save_vecnormalize=normalized),
            EvalCallback(eval_env, best_model_save_path=str(output), log_path=str(output / "eval"),
                         eval_freq=max(1, run.eval_every // n_envs), n_eval_episodes=run.eval_episodes,
                         deterministic=True, verbose=0, callback_on_new_best=SaveBestStats(output)),
        ]
        model.learn(remaining, callback=callbacks, progress_bar=True, reset_num_timesteps=fresh)
    except BaseException:
        if fresh and not any((output / CHECKPOINTS).glob("*.zip")):
            shutil.rmtree(output, ignore_errors=True)  # nothing worth keeping: the retry starts afresh
        raise
    model.save(output / "model.zip")
    if hasattr(venv, "obs_rms"):
        venv.save(str(output / VECNORMALIZE))
    _write_layout(run.env_id, output)
    (output / "train_config.yaml").write_text(yaml.safe_dump({
        "env_id": run.env_id, "preset": asdict(run.preset), "seed": run.seed, "steps": int(model.num_timesteps)}))
    plot_rewards(output / "eval" / "evaluations.npz", output / "reward_curve.png", run.env_id)
    return output


def _write_layout(env_id: str, output: Path) -> None:
    import gymnasium

    env = gymnasium.make(env_id).unwrapped
    if hasattr(env, "policy_layout"):
        (output / "model.yaml").write_text(yaml.safe_dump(env.policy_layout()))
    env.close()


class SaveBestStats(BaseCallback):
    """callback_on_new_best: keep the VecNormalize statistics of the best model beside it."""

    def __init__(self, output: Path) -> None:
        super().__init__()
        self.output = output

    def _on_step(self) -> bool:
        venv = self.model.get_vec_normalize_env()
        if venv is not None:
            venv.save(str(self.output / "best_vecnormalize.pkl"))
        return True
