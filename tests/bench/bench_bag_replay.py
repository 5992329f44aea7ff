"""`sim2real bag2dataset` throughput on this machine, printed: messages/s of the full replay (read,
lazy deserialize, contract extraction, StreamSynchronizer, DatasetWriter with video encoding)
against the rosbags reader alone on the same bag (raw iteration, and iteration + deserializing
every message).

The bag is written here (test_bag_replay.write_bag): joint_states, joint_commands and two
96x128 cameras (the contract's size) at 30 Hz for ``--seconds`` s, sqlite3 or mcap, one camera
optionally as CompressedImage (jpg/png).

Run: source scripts/env.sh && python tests/bench/bench_bag_replay.py [--seconds 60]
     [--storage sqlite3|mcap] [--compressed jpg]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src" / "core" / "sim2real_recorder" / "test"))


def read_only(bag: Path, deserialize: bool) -> tuple[int, float]:
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.LATEST)
    start = time.perf_counter()
    n = 0
    with Reader(bag) as reader:
        for conn, _, raw in reader.messages():
            if deserialize:
                ts.deserialize_cdr(raw, conn.msgtype)
            n += 1
    return n, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--storage", choices=("sqlite3", "mcap"), default="mcap")
    parser.add_argument("--compressed", choices=("", "jpg", "png"), default="")
    args = parser.parse_args()

    from test_bag_replay import CONTRACT, write_bag

    from sim2real_recorder import writer as _writer  # noqa: F401 - import torch/LeRobot outside the timing
    from sim2real_recorder.bag_replay import convert

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frames = args.seconds * 30
        t = time.perf_counter()
        write_bag(tmp / "bag", args.storage, segments=((0, frames),), compressed=args.compressed)
        print(f"bag: {args.storage}, {args.seconds} s, 4 topics x {frames} messages "
              f"(wrote in {time.perf_counter() - t:.1f} s)")
        cfg = {"contract": str(CONTRACT)}
        if args.compressed:
            cfg["topics"] = {"observation.images.wrist_cam": "/wrist_cam/image_raw/compressed"}
        (tmp / "m.yaml").write_text(yaml.safe_dump(cfg))
        n, raw_s = read_only(tmp / "bag", False)
        _, des_s = read_only(tmp / "bag", True)
        t = time.perf_counter()
        account = convert([tmp / "bag"], tmp / "m.yaml", tmp / "ds", progress=False)
        replay_s = time.perf_counter() - t
        print(f"rosbags reader, raw:              {n / raw_s:10.0f} msg/s ({raw_s:.2f} s)")
        print(f"rosbags reader + deserialize:     {n / des_s:10.0f} msg/s ({des_s:.2f} s)")
        print(f"bag2dataset replay (full):        {n / replay_s:10.0f} msg/s ({replay_s:.2f} s, "
              f"{account.frames_out / replay_s:.0f} frames/s, {args.seconds / replay_s:.1f}x real time)")
        print(account.summary())
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        ds = LeRobotDataset("local/bags", root=tmp / "ds", video_backend="torchcodec")
        assert ds.meta.total_frames == account.frames_out


if __name__ == "__main__":
    main()
