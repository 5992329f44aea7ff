"""Sim core speed, printed (asserts nothing about time).

- physics steps/s through Sim.step (task monitor included, no cameras) vs raw `mj_step` on the
  same model in the same run, and their ratio;
- camera frames/s at 128x96 and 640x480 (shadows off, EGL).

Run: source scripts/env.sh && python tests/bench/bench_sim.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from sim2real_sim.sim import Sim, SimConfig  # noqa: E402


def _rate(fn, seconds: float) -> tuple[float, int]:
    """Calls of fn per second over about `seconds`, best of three slices."""
    best, total = 0.0, 0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            fn()
            n += 1
        best = max(best, n / elapsed)
        total += n
    return best, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()

    sim = Sim(SimConfig(scene="so101_pick_place"))
    sim.reset(0)
    target = np.array(sim.model.key("home").ctrl)

    def sim_tick() -> None:
        sim.step(target)
        if sim.status.done:
            sim.reset(0)

    ticks, _ = _rate(sim_tick, args.seconds)
    sim_steps = ticks * sim.substeps

    model, data = sim.model, mujoco.MjData(sim.model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    raw_steps, _ = _rate(lambda: mujoco.mj_step(model, data), args.seconds)

    print(f"model: so101_pick_place, timestep {model.opt.timestep * 1e3:.3f} ms, "
          f"{sim.substeps} substeps per {sim.control_period * 1e3:.1f} ms control tick")
    print(f"raw mj_step:                {raw_steps:10.0f} steps/s")
    print(f"Sim.step (no cameras):      {sim_steps:10.0f} steps/s  ({ticks:.0f} control ticks/s, "
          f"{ticks * sim.control_period:.0f}x real time)")
    print(f"ratio Sim.step / mj_step:   {sim_steps / raw_steps:10.2f}")
    for width, height in ((128, 96), (640, 480)):
        for camera in ("overhead_cam", "wrist_cam"):
            sim.render(camera, width, height)  # create the renderer outside the timing
            fps, _ = _rate(lambda: sim.render(camera, width, height), args.seconds)
            print(f"camera {camera:12s} {width}x{height}: {fps:8.1f} frames/s ({1e3 / fps:.1f} ms/frame)")
    sim.close()


if __name__ == "__main__":
    main()
