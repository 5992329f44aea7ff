"""Recorder throughput on this machine, printed (asserts only that the dataset loads).

Synthetic publishers feed the recorder core in real time, as the recorder node would be fed:
``--cameras`` cameras at ``--width`` x ``--height`` and 30 Hz, joint states at 100 Hz, joint
commands at 30 Hz, each in its own thread, stamped with the monotonic clock and pushed into a
``StreamSynchronizer`` (contract bindings). The recording loop wakes at every frame time plus a
sampling delay and calls ``DatasetWriter.add_frame`` with the sample. A wake-up that finds
several slots due (the loop fell behind) samples each of them from the synchronizer's history,
as the recorder node does (``--policy catch-up``), or only the latest, dropping the others
(``--policy drop``: the strictest reading of "keeps up at 30 fps"). Images are textured, moving
and noisy (``--noise`` sigma, 0 for clean sim renders), so the encoder works about as hard as on
camera images.

Printed per episode: dropped frames (grid slots without a frame; target 0), late ticks and the
largest lag, add_frame and tick latencies, CPU used while recording (cores), encoder
back-pressure, the synchronizer's report, save time and save / duration (target <= 0.5), dataset
size, the machine's load average (the machine may be shared). Then the dataset is loaded with
``LeRobotDataset(..., video_backend="torchcodec")`` and decoded frames are compared with the
images that were published for those rows.

``--default-writer-seconds N`` also times LeRobot 0.4.4's default writer (PNG per frame, then
libsvtav1 at save_episode) on an N-second episode of the same images, as a reference.

Run: source scripts/env.sh && python tests/bench/bench_recorder.py [--seconds 60] [--episodes 1]
     [--policy catch-up|drop] [--noise 2] [--default-writer-seconds 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from sim2real_common.contract import load_contract
from sim2real_recorder.errors import GapError
from sim2real_recorder.sync import StreamSynchronizer
from sim2real_recorder.writer import DatasetWriter, WriterConfig, features_from_contract

NS = 1_000_000_000
CAMERAS = ("overhead_cam", "wrist_cam", "side_cam", "top_cam")
DISTINCT_IMAGES = 90  # per camera, cycled: 3 s of distinct content at 30 Hz


def synthetic_images(height: int, width: int, camera: int, noise: float, n: int) -> list[np.ndarray]:
    """A textured background, a moving block and a moving arm-like bar, plus sensor noise."""
    rng = np.random.default_rng(camera)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    background = (90 + 35 * np.sin(xx / (23 + 7 * camera))[..., None] * np.array([1.0, 0.6, 0.3])
                  + 25 * np.cos(yy / 17)[..., None] * np.array([0.2, 0.7, 1.0])
                  + rng.normal(0, 6, (height, width, 3)))
    images = []
    for i in range(n):
        phase = 2 * np.pi * i / n
        img = background.copy()
        r, c = int(height * (0.5 + 0.3 * np.sin(phase + camera))), int(width * (0.5 + 0.35 * np.cos(phase)))
        img[max(0, r - height // 12): r + height // 12, max(0, c - width // 12): c + width // 12] = (200, 40, 40)
        bar = int(width * (0.3 + 0.4 * (0.5 + 0.5 * np.sin(2 * phase))))
        img[height // 3: height // 3 + height // 20, :bar] = (180, 180, 190)
        if noise:
            img += rng.normal(0, noise, img.shape)
        images.append(np.clip(img, 0, 255).astype(np.uint8))
    return images


class Publisher(threading.Thread):
    """Pushes ``values[k % len]`` stamped with the monotonic clock every 1 / rate_hz seconds."""

    def __init__(self, sync: StreamSynchronizer, feature: str, rate_hz: float, values: list, stop: threading.Event):
        super().__init__(daemon=True, name=f"pub:{feature}")
        self.sync, self.feature, self.period, self.values, self.stop = sync, feature, 1 / rate_hz, values, stop

    def run(self) -> None:
        k, start = 0, time.monotonic()
        while not self.stop.is_set():
            value = self.values[k % len(self.values)]
            self.sync.push(self.feature, time.monotonic_ns(), value)
            k += 1
            time.sleep(max(0.0, start + k * self.period - time.monotonic()))


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1e3, q)) if seconds else 0.0


def record_episode(writer: DatasetWriter, sync: StreamSynchronizer, seconds: float, fps: int, delay_s: float,
                   image_index: dict[int, int], catch_up: bool) -> dict:
    """One episode on the grid t0 + k / fps, slot k sampled at its time + delay. A late wake-up
    finds several slots due: ``catch_up`` samples each (from the synchronizer's history, as the
    recorder node does), otherwise only the latest (the others are dropped)."""
    period = NS / fps
    delay = round(delay_s * NS)
    n_slots = round(seconds * fps)
    sync.reset()
    writer.start_episode()
    t0 = time.monotonic_ns() - delay  # slot 0 is due now
    add_s, tick_s, rows_images = [], [], []
    k, late_ticks, max_lag = 0, 0, 0.0
    usage0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    while k < n_slots:
        time.sleep(max(0.0, (t0 + round(k * period) + delay - time.monotonic_ns()) / NS))
        start = time.perf_counter()
        now = time.monotonic_ns() - delay
        latest = min(n_slots - 1, int((now - t0) // period))
        max_lag = max(max_lag, (now - t0 - k * period) / NS)
        if latest > k:
            late_ticks += 1
            if not catch_up:
                k = latest  # slots in between are dropped
        while k <= latest:
            frame_time = t0 + round(k * period)
            frame = sync.sample(frame_time)
            if frame is not None:
                a = time.perf_counter()
                writer.add_frame(frame, (frame_time - t0) / NS)
                add_s.append(time.perf_counter() - a)
                rows_images.append({key: image_index[id(v)] for key, v in frame.items() if id(v) in image_index})
            k += 1
        tick_s.append(time.perf_counter() - start)
    usage1, wall1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    cpu = (usage1.ru_utime - usage0.ru_utime + usage1.ru_stime - usage0.ru_stime) / (wall1 - wall0)
    report = sync.episode_report()
    try:
        sync.check_saveable()
        refused = ""
    except GapError as error:  # a stall of the machine: measured and shown, saved anyway
        refused = str(error)
    rows = writer.frames_in_episode
    blocked = writer.encoder_blocked_s
    index = writer.save_episode()
    return {"index": index, "slots": n_slots, "rows": rows, "dropped": n_slots - rows, "add_s": add_s,
            "tick_s": tick_s, "late_ticks": late_ticks, "max_lag": max_lag, "cpu": cpu, "blocked": blocked,
            "save_s": writer.last_save_s, "report": report, "rows_images": rows_images, "refused": refused}


def check_dataset(root: Path, repo_id: str, episodes: list[dict], images: dict[str, list[np.ndarray]]) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    start = time.perf_counter()
    ds = LeRobotDataset(repo_id, root=root, video_backend="torchcodec")
    load_s = time.perf_counter() - start
    assert ds.num_episodes == len(episodes), (ds.num_episodes, len(episodes))
    assert len(ds) == sum(e["rows"] for e in episodes)
    errors, offset = [], 0
    for ep in episodes:
        rows = ep["rows"]
        for row in (0, rows // 2, rows - 1):
            item = ds[offset + row]
            for key, idx in ep["rows_images"][row].items():
                if key in images:
                    decoded = (item[key].numpy().transpose(1, 2, 0) * 255).round()
                    errors.append(float(np.abs(decoded - images[key][idx]).mean()))
        ts = np.array(ds.hf_dataset.select(range(offset, offset + rows))["timestamp"])
        assert np.all(np.diff(ts) > 0), "timestamps not increasing"
        offset += rows
    print(f"  loads with LeRobotDataset(torchcodec) in {load_s:.2f} s: {ds.num_episodes} episode(s), {len(ds)} "
          f"frames; decoded frames vs published images: mean abs error {np.mean(errors):.2f} / 255 "
          f"(max {np.max(errors):.2f})")


def default_writer_reference(root: Path, fps: int, features: dict, cams: dict[str, list[np.ndarray]],
                             seconds: float) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    ds = LeRobotDataset.create("bench/default", fps=fps, features=features, root=root, robot_type="so101")
    n = round(seconds * fps)
    start = time.perf_counter()
    for k in range(n):
        frame = {"observation.state": np.zeros(6, np.float32), "action": np.zeros(6, np.float32), "task": "bench"}
        frame |= {key: imgs[k % len(imgs)] for key, imgs in cams.items()}
        ds.add_frame(frame)
    add = time.perf_counter() - start
    start = time.perf_counter()
    ds.save_episode()
    save = time.perf_counter() - start
    ds.finalize()
    print(f"LeRobot 0.4.4 default writer, {seconds:g} s episode: add_frame total {add:.1f} s "
          f"({add / n * 1e3:.1f} ms/frame), save_episode {save:.1f} s = {save / seconds:.2f}x the episode duration")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--cameras", type=int, default=2, choices=range(1, len(CAMERAS) + 1))
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--noise", type=float, default=2.0, help="sensor noise sigma (0: clean renders)")
    parser.add_argument("--delay", type=float, default=0.05, help="sampling delay behind the clock (s)")
    parser.add_argument("--policy", choices=("catch-up", "drop"), default="catch-up",
                        help="late wake-up: sample every due slot (recorder node) or only the latest")
    parser.add_argument("--vcodec", default=None)
    parser.add_argument("--preset", default=None)
    parser.add_argument("--crf", type=int, default=None)
    parser.add_argument("--gop", type=int, default=None)
    parser.add_argument("--root", type=Path, default=None, help="dataset directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the dataset")
    parser.add_argument("--default-writer-seconds", type=float, default=0.0)
    args = parser.parse_args()

    contract = load_contract("so101_pick_place")
    fps = int(contract.fps)
    cams = CAMERAS[: args.cameras]
    shape = (args.height, args.width, 3)
    image_binding = next(b for b in contract.features.values() if b.is_image)
    bindings = {n: b for n, b in contract.features.items() if not b.is_image and not b.sim_only}
    bindings |= {f"observation.images.{c}": replace(image_binding, name=f"observation.images.{c}", shape=shape,
                                                    topic=f"{c}/image_raw") for c in cams}
    contract = replace(contract, features=bindings)
    features = features_from_contract(contract)

    print(f"generating {DISTINCT_IMAGES} distinct {args.width}x{args.height} images per camera ...", flush=True)
    images = {f"observation.images.{c}": synthetic_images(args.height, args.width, i, args.noise, DISTINCT_IMAGES)
              for i, c in enumerate(cams)}
    image_index = {id(img): i for imgs in images.values() for i, img in enumerate(imgs)}
    rng = np.random.default_rng(0)
    joints = [rng.uniform(-1, 1, 6) for _ in range(100)]

    tmp = Path(tempfile.mkdtemp(prefix="bench_recorder_"))
    root = args.root or tmp / "dataset"
    codec = {k: v for k, v in (("vcodec", args.vcodec), ("preset", args.preset), ("crf", args.crf),
                               ("gop", args.gop)) if v is not None}
    config = WriterConfig(root=root, repo_id="bench/so101", fps=fps, robot_type="so101", task=contract.task,
                          features=features, **codec)
    print(f"{args.episodes} x {args.seconds:g} s at {fps} fps, {len(cams)} camera(s) {args.width}x{args.height}, "
          f"noise {args.noise:g}; codec {config.vcodec} preset={config.preset} crf={config.crf} gop={config.gop} "
          f"threads={config.encoder_threads}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"{root}", flush=True)

    sync = StreamSynchronizer(contract, list(features), fps)
    stop = threading.Event()
    publishers = [Publisher(sync, "observation.state", 100, joints, stop),
                  Publisher(sync, "action", fps, joints, stop)]
    publishers += [Publisher(sync, key, fps, imgs, stop) for key, imgs in images.items()]
    for p in publishers:
        p.start()
    time.sleep(0.5)
    episodes = []
    try:
        with DatasetWriter(config) as writer:
            for _ in range(args.episodes):
                ep = record_episode(writer, sync, args.seconds, fps, args.delay, image_index,
                                    catch_up=args.policy == "catch-up")
                episodes.append(ep)
                duration = ep["slots"] / fps
                add = ep["add_s"]
                print(f"episode {ep['index']}: {ep['rows']}/{ep['slots']} frames, DROPPED {ep['dropped']} (target 0)")
                print(f"  add_frame p50 {percentile_ms(add, 50):.2f} ms, p99 {percentile_ms(add, 99):.2f} ms, "
                      f"max {max(add) * 1e3:.1f} ms; tick p99 {percentile_ms(ep['tick_s'], 99):.2f} ms; "
                      f"{ep['late_ticks']} late tick(s) ({args.policy}), max lag {ep['max_lag'] * 1e3:.0f} ms")
                print(f"  CPU while recording {ep['cpu']:.2f} cores (this process); encoder back-pressure "
                      f"{ep['blocked']:.2f} s; machine load average {os.getloadavg()[0]:.1f}")
                print("  sync: " + ep["report"].summary().replace("\n", "\n  "))
                if ep["refused"]:
                    print("  sync would refuse this episode: " + ep["refused"].replace("\n", "\n  "))
                print(f"  SAVE {ep['save_s']:.3f} s = {ep['save_s'] / duration:.4f} x the {duration:g} s episode "
                      f"(target <= 0.5)", flush=True)
    finally:
        stop.set()
        for p in publishers:
            p.join()
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    minutes = sum(e["rows"] for e in episodes) / fps / 60
    print(f"dataset size {size / 1e6:.1f} MB ({size / 1e6 / minutes / len(cams):.1f} MB per camera-minute)")
    check_dataset(root, config.repo_id, episodes, images)
    if args.default_writer_seconds > 0:
        default_writer_reference(tmp / "default", fps, features, images, args.default_writer_seconds)
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
