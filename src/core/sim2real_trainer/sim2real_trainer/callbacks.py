"""Training callbacks (stable-baselines3 style): the loop calls them, each does one thing.

- `LossCurve`: per-step loss into ``<output>/training_log.jsonl``, redrawn as
  ``<output>/loss_curve.png`` at every checkpoint;
- `SimEvaluation`: at evaluation steps, the checkpoint just saved is loaded like the policy node
  loads it and run in the sim core; one row per evaluation in ``<output>/eval.jsonl`` (success
  rate + Wilson interval), the full report in ``<output>/eval/step_NNNNNN.json`` and the curve in
  ``<output>/eval_curve.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from sim2real_sim.evaluation import write_report
from sim2real_trainer import jsonl, plots
from sim2real_trainer.sim_eval import SimEvalConfig, evaluate_checkpoint

TRAINING_LOG = "training_log.jsonl"
LOSS_CURVE = "loss_curve.png"
EVAL_LOG = "eval.jsonl"
EVAL_CURVE = "eval_curve.png"
PRETRAINED_MODEL = "pretrained_model"


class TrainCallback(Protocol):
    def on_start(self, step: int, total_steps: int) -> None:
        """Training starts (or resumes) after ``step`` updates."""

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        """Update number ``step`` is done; ``metrics``: loss, grad_norm, lr, update_s, dataloading_s."""

    def on_checkpoint(self, step: int, checkpoint_dir: Path) -> None:
        """``checkpoint_dir`` (checkpoints/NNNNNN) was just written."""


class LossCurve:
    def __init__(self, output_dir: Path) -> None:
        self.log = output_dir / TRAINING_LOG
        self.png = output_dir / LOSS_CURVE
        self._pending: list[dict[str, Any]] = []

    def on_start(self, step: int, total_steps: int) -> None:
        jsonl.keep_until(self.log, step)

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        self._pending.append({"step": step, **metrics})

    def on_checkpoint(self, step: int, checkpoint_dir: Path) -> None:
        jsonl.append_rows(self.log, self._pending)
        self._pending.clear()
        plots.loss_curve(jsonl.read_rows(self.log), self.png)


class SimEvaluation:
    def __init__(self, output_dir: Path, every: int, config: SimEvalConfig) -> None:
        self.output_dir = output_dir
        self.every = every
        self.config = config
        self._total_steps = 0

    def on_start(self, step: int, total_steps: int) -> None:
        self._total_steps = total_steps
        jsonl.keep_until(self.output_dir / EVAL_LOG, step)

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        pass

    def on_checkpoint(self, step: int, checkpoint_dir: Path) -> None:
        if step % self.every and step != self._total_steps:
            return
        report = evaluate_checkpoint(checkpoint_dir / PRETRAINED_MODEL, self.config)
        write_report({**report, "step": step}, self.output_dir / "eval" / f"step_{checkpoint_dir.name}.json")
        row = {"step": step, **{k: report[k] for k in ("success_rate", "success_rate_ci95", "n_success",
                                                       "n_episodes", "outcomes")}}
        jsonl.append_rows(self.output_dir / EVAL_LOG, [row])
        plots.eval_curve(jsonl.read_rows(self.output_dir / EVAL_LOG), self.output_dir / EVAL_CURVE)
        low, high = report["success_rate_ci95"]
        tqdm.write(f"eval @ step {step}: success {report['success_rate']:.1%} "
                   f"({report['n_success']}/{report['n_episodes']}, 95% CI {low:.1%} - {high:.1%})")
