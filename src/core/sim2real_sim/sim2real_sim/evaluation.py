"""Evaluation report (ROS-free): success rate with a 95% Wilson interval, the task's outcome
breakdown and figures, per-episode rows; a rich table for the terminal and a JSON file for
people and scripts."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sim2real_sim.task import Task


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


def summarize(episodes: list[dict[str, Any]], task: type[Task], meta: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """Aggregate per-episode status dicts (EpisodeStatus.to_dict() + extras) into a report."""
    n = len(episodes)
    success, *failures = task.OUTCOMES
    outcomes = Counter(e["outcome"] for e in episodes)
    successes = outcomes.get(success, 0)
    low, high = wilson_interval(successes, n)
    rate = successes / n if n else 0.0
    metrics = task.report_metrics(episodes)
    return {
        **(meta or {}),
        "n_episodes": n,
        "n_success": successes,
        "success_rate": rate,
        "success_rate_ci95": [low, high],
        "pc_success": 100.0 * rate,  # LeRobot's name for the same figure, in percent
        "outcomes": {o: outcomes.get(o, 0) for o in task.OUTCOMES},
        "failures": {o: outcomes.get(o, 0) for o in failures},
        **metrics,
        "avg_steps_success": _mean([e["steps"] for e in episodes if e["outcome"] == success]),
        "task_metrics": list(metrics),
        "episode_columns": list(getattr(task, "EPISODE_COLUMNS", ())),  # the task's per-episode figures
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
    success = next(iter(report["outcomes"]), None)
    episodes = Table(title="Episodes", show_lines=False)
    extra = report.get("episode_columns", [])
    for col in ("episode", "seed", "outcome", "steps", *(k.replace("_", " ") for k in extra), "events"):
        episodes.add_column(col)
    for e in report["episodes"]:
        style = "green" if e["outcome"] == success else "red"
        events = " ".join(f"{ev['kind']}@{ev['step']}" for ev in e.get("events", []))
        episodes.add_row(str(e["episode"]), str(e.get("seed")), f"[{style}]{e['outcome']}[/]",
                         str(e["steps"]), *(_figure(e.get(k)) for k in extra), events)
    console.print(episodes)

    summary = Table(title="Evaluation", show_header=False)
    low, high = report["success_rate_ci95"]
    summary.add_row("success rate", f"{report['success_rate']:.1%}  (95% CI {low:.1%} - {high:.1%}, "
                    f"{report['n_success']}/{report['n_episodes']})")
    for name, count in report["failures"].items():
        summary.add_row(name, str(count))
    for name in report.get("task_metrics", []):
        summary.add_row(name, _figure(report[name], percent=name.endswith("_rate")))
    steps = report["avg_steps_success"]
    summary.add_row("avg_steps_success", "-" if steps is None else f"{steps:.1f}")
    console.print(summary)


def _figure(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}" if percent else f"{value:.3f}"
    return str(value)
