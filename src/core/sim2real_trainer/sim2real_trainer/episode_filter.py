"""Select episodes by group activity, e.g. arm-heavy episodes for a curriculum.

A group's activity in an episode is the mean normalised per-step motion of its dimensions
(``mean |a[t+1] - a[t]| / std``, as in the action analysis); its share is that activity over the
sum of all groups' activities. A filter ``{group, min_share}`` keeps the episodes where the
group's share is at least ``min_share``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from sim2real_trainer.action_analysis import normalization_scale, step_motion
from sim2real_trainer.errors import TrainerError
from sim2real_trainer.groups import GroupsConfig
from sim2real_trainer.local_dataset import LocalDataset, episode_arrays, load_stats

EPISODES_JSON = "episodes.json"


@dataclass(frozen=True)
class EpisodeSelection:
    filter: str
    group: str
    min_share: float
    selected: list[int]
    rejected: list[int]
    shares: dict[int, dict[str, float]]  # episode -> group -> share of the activity

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))
        return path


def group_shares(dataset: LocalDataset, config: GroupsConfig, feature: str = "action") -> dict[int, dict[str, float]]:
    config.check_dim(dataset.dim(feature), f"{feature} of {dataset.root}")
    scale = normalization_scale(load_stats(dataset)[feature], "mean_std")
    shares = {}
    for episode, actions in episode_arrays(dataset, feature).items():
        motion = step_motion([actions]) / scale
        activity = {g: float(motion[list(config.groups.dims(g))].mean()) for g in config.groups.names}
        total = sum(activity.values())
        shares[episode] = {g: (a / total if total > 0 else 0.0) for g, a in activity.items()}
    return shares


def select_episodes(dataset: LocalDataset, config: GroupsConfig, name: str) -> EpisodeSelection:
    if name not in config.filters:
        accepted = ", ".join(config.filters) or "none"
        raise TrainerError(f"no episode filter {name!r} in {config.path}; filters: {accepted}")
    rule = config.filters[name]
    shares = group_shares(dataset, config)
    selected = [e for e, s in shares.items() if s[rule.group] >= rule.min_share]
    if not selected:
        values = [s[rule.group] for s in shares.values()]
        raise TrainerError(f"filter {name} kept none of {len(shares)} episodes ({rule.group} share "
                           f"{min(values):.2f}..{max(values):.2f}); lower filters.{name}.min_share in {config.path}")
    rejected = [e for e in shares if e not in selected]
    return EpisodeSelection(name, rule.group, rule.min_share, selected, rejected, shares)
