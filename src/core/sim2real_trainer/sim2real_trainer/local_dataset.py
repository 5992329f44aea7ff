"""A LeRobot v3 dataset on local disk, read without LeRobot's Hub fallback or video decoding.

The analysis tools need only the low-dimensional columns (actions, states) per episode; they
read the parquet files directly. Training opens the same folder with LeRobot itself, under the
repo_id resolved here (info.json has none: LeRobot keeps it outside the folder).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_trainer.errors import DatasetError

INFO = Path("meta") / "info.json"
STATS = Path("meta") / "stats.json"
DATA = "data"
LOCAL_NAMESPACE = "local"


@dataclass(frozen=True)
class LocalDataset:
    root: Path
    repo_id: str  # info.json's "repo_id" if a tool wrote one, else "local/<folder name>"
    info: dict[str, Any]

    @property
    def fps(self) -> int:
        return int(self.info["fps"])

    @property
    def total_episodes(self) -> int:
        return int(self.info["total_episodes"])

    def dim(self, feature: str) -> int:
        return int(self.feature(feature)["shape"][0])

    def feature(self, key: str) -> dict[str, Any]:
        features = self.info.get("features", {})
        if key not in features:
            raise DatasetError(f"dataset {self.root} has no feature {key!r}; it has: {', '.join(features)}")
        return features[key]

    def names(self, feature: str) -> list[str]:
        """Per-dimension names of a vector feature (``dim_<i>`` where the dataset names none)."""
        names = self.feature(feature).get("names")
        if isinstance(names, list) and len(names) == self.dim(feature):
            return [str(n) for n in names]
        return [f"dim_{i}" for i in range(self.dim(feature))]


def open_local_dataset(root: str | Path) -> LocalDataset:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"dataset directory {root} does not exist")
    if not (root / INFO).is_file():
        raise DatasetError(f"{root} is not a LeRobot dataset: {INFO} is missing")
    info = json.loads((root / INFO).read_text())
    repo_id = str(info.get("repo_id") or f"{LOCAL_NAMESPACE}/{root.resolve().name}")
    return LocalDataset(root=root, repo_id=repo_id, info=info)


def episode_arrays(dataset: LocalDataset, feature: str) -> dict[int, np.ndarray]:
    """``{episode_index: (n_frames, dim) float64}`` of a vector feature, frames in order."""
    import pyarrow.dataset as pads

    dim = dataset.dim(feature)
    table = pads.dataset(dataset.root / DATA, format="parquet").to_table(
        columns=[feature, "episode_index", "index"]
    )
    values = table.column(feature).combine_chunks().flatten().to_numpy().reshape(len(table), dim)
    episodes = table.column("episode_index").to_numpy()
    order = np.lexsort((table.column("index").to_numpy(), episodes))
    values, episodes = values[order].astype(np.float64), episodes[order]
    starts = np.flatnonzero(np.r_[True, episodes[1:] != episodes[:-1]])
    return {int(episodes[s]): chunk for s, chunk in zip(starts, np.split(values, starts[1:]), strict=True)}


def load_stats(dataset: LocalDataset) -> dict[str, dict[str, np.ndarray]]:
    """meta/stats.json as arrays: ``{feature: {stat: array}}``."""
    path = dataset.root / STATS
    if not path.is_file():
        raise DatasetError(f"dataset {dataset.root} has no {STATS}")
    raw = json.loads(path.read_text())
    return {key: {stat: np.asarray(value) for stat, value in stats.items()} for key, stats in raw.items()}
