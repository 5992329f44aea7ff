"""What SB3's callbacks leave out of a run folder: the best model's VecNormalize statistics, an
evaluation at the end of training, and the evaluation history across a resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback


class SaveBestStats(BaseCallback):
    """callback_on_new_best: keep the VecNormalize statistics of the best model beside it."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def _on_step(self) -> bool:
        venv = self.model.get_vec_normalize_env()
        if venv is not None:
            venv.save(str(self.path))
        return True


class RunEvaluation(EvalCallback):
    """EvalCallback that continues the history of its ``evaluations.npz`` (EvalCallback starts it
    afresh, and the resumed run's first evaluation would replace a better best_model.zip) and
    evaluates once more when training ends off its cadence, so that every run has a best model."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        evaluations = Path(f"{self.log_path}.npz") if self.log_path else None
        if evaluations is None or not evaluations.is_file():
            return
        with np.load(evaluations) as saved:
            self.evaluations_timesteps = [int(t) for t in saved["timesteps"]]
            self.evaluations_results = [list(r) for r in saved["results"]]
            self.evaluations_length = [list(n) for n in saved["ep_lengths"]]
            if "successes" in saved:
                self.evaluations_successes = [list(s) for s in saved["successes"]]
        if self.evaluations_results:
            self.best_mean_reward = float(max(np.mean(r) for r in self.evaluations_results))

    def _on_training_end(self) -> None:
        if self.evaluations_timesteps[-1:] != [self.num_timesteps]:
            cadence, self.eval_freq = self.eval_freq, 1  # _on_step evaluates when n_calls % eval_freq == 0
            try:
                self._on_step()
            finally:
                self.eval_freq = cadence
