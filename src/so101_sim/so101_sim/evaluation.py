"""Evaluation report (ROS-free): success rate with a 95% Wilson interval, failure breakdown,
per-episode rows; a rich table for the terminal and a JSON file for people and scripts."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from so101_sim.tasks.monitor import FAILURE_CLASSES, Outcome


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(episodes: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Aggregate per-episode status dicts (EpisodeStatus.to_dict() + extras) into a report."""
    n = len(episodes)
    outcomes = Counter(e["outcome"] for e in episodes)
    successes = outcomes.get(Outcome.SUCCESS.value, 0)
    picked = sum(1 for e in episodes if e.get("picked"))
    dropped = outcomes.get(Outcome.DROPPED_DURING_TRANSPORT.value, 0)
    low, high = wilson_interval(successes, n)
    rate = successes / n if n else 0.0
    return {
        **(meta or {}),
        "n_episodes": n,
        "n_success": successes,
        "success_rate": rate,
        "success_rate_ci95": [low, high],
        "pc_success": 100.0 * rate,  # LeRobot's name for the same figure, in percent
        "outcomes": {o.value: outcomes.get(o.value, 0) for o in Outcome},
        "failures": {o.value: outcomes.get(o.value, 0) for o in FAILURE_CLASSES},
        "pick_rate": picked / n if n else 0.0,
        "drop_rate": dropped / picked if picked else 0.0,  # of the episodes that picked the block
        "avg_steps_success": _mean([e["steps"] for e in episodes if e["outcome"] == Outcome.SUCCESS.value]),
        "avg_max_height": _mean([e["max_height"] for e in episodes]),
        "episodes": episodes,
    }


def write_report(report: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(path)  # never leave a half-written report
    return path


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    episodes = Table(title="Episodes", show_lines=False)
    for col in ("episode", "seed", "outcome", "steps", "max height (m)", "events"):
        episodes.add_column(col)
    for e in report["episodes"]:
        style = "green" if e["outcome"] == Outcome.SUCCESS.value else "red"
        events = " ".join(f"{ev['kind']}@{ev['step']}" for ev in e.get("events", []))
        episodes.add_row(str(e["episode"]), str(e.get("seed")), f"[{style}]{e['outcome']}[/]",
                         str(e["steps"]), f"{e['max_height']:.3f}", events)
    console.print(episodes)

    summary = Table(title="Evaluation", show_header=False)
    low, high = report["success_rate_ci95"]
    summary.add_row("success rate", f"{report['success_rate']:.1%}  (95% CI {low:.1%} - {high:.1%}, "
                    f"{report['n_success']}/{report['n_episodes']})")
    for name, count in report["failures"].items():
        summary.add_row(name, str(count))
    summary.add_row("pick_rate", f"{report['pick_rate']:.1%}")
    summary.add_row("drop_rate", f"{report['drop_rate']:.1%}")
    steps = report["avg_steps_success"]
    summary.add_row("avg_steps_success", "-" if steps is None else f"{steps:.1f}")
    height = report["avg_max_height"]
    summary.add_row("avg_max_height", "-" if height is None else f"{height:.3f} m")
    console.print(summary)
