"""Scripted pick-place expert on the sim core (no ROS): seeds 0..N-1, printed.

- success rate (with the 95% Wilson interval) and the count of every outcome;
- mean ticks of the successful episodes (30 Hz; the budget is 300);
- episodes that needed more than one grasp;
- wall time per episode (policy + physics, this machine).

Run: source scripts/env.sh && python tests/bench/bench_expert.py [--episodes 100]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

from tqdm import tqdm  # noqa: E402

from so101.pick_place.expert import PickPlaceExpert  # noqa: E402
from sim2real_sim.evaluation import summarize  # noqa: E402
from sim2real_sim.sim import Sim, SimConfig  # noqa: E402


def run_episode(sim: Sim, expert: PickPlaceExpert, seed: int) -> dict:
    status = sim.reset(seed)
    expert.reset()
    while not status.done:
        status = sim.step(expert.select_action(sim.observation()))
    return {**status.to_dict(), "attempts": expert.attempts}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=100, help="run seeds 0..episodes-1")
    args = parser.parse_args()

    sim, expert = Sim(SimConfig(scene="so101_pick_place")), PickPlaceExpert()
    episodes, walls = [], []
    for seed in tqdm(range(args.episodes), desc="episodes", unit="ep"):
        start = time.perf_counter()
        episodes.append(run_episode(sim, expert, seed))
        walls.append(time.perf_counter() - start)

    report = summarize(episodes, type(sim.task), meta={"policy": "expert"})
    low, high = report["success_rate_ci95"]
    n_success, n = report["n_success"], report["n_episodes"]
    print(
        f"success rate      {report['success_rate']:.1%}  ({n_success}/{n}, "
        f"95% CI {low:.1%} - {high:.1%})"
    )
    for outcome, count in report["outcomes"].items():
        print(f"  {outcome:<26}{count}")
    steps = report["avg_steps_success"]
    print(f"mean ticks (succ.) {'-' if steps is None else f'{steps:.1f}'} of 300")
    print(f"retried grasps    {sum(e['attempts'] > 1 for e in episodes)} episodes")
    print(f"wall / episode    {sum(walls) / len(walls) * 1000:.0f} ms (max {max(walls) * 1000:.0f} ms)")
    failed = [(e["seed"], e["outcome"]) for e in episodes if e["outcome"] != "success"]
    if failed:
        print("failed seeds      " + ", ".join(f"{seed}:{kind}" for seed, kind in failed))


if __name__ == "__main__":
    main()
