"""A recorder killed with SIGKILL: every episode saved before is loadable, the one in progress is
absent. Killed mid-episode, plain LeRobotDataset loads the dataset as it is; killed inside
save_episode, the interrupted save is rolled back when the dataset is opened again.

The recorder runs in a subprocess: this file is also its script (``__main__`` below)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
from test_writer import CAMERAS, config, frame, load, record

from sim2real_recorder.transaction import TXN_DIR_NAME, recover
from sim2real_recorder.video_encoding import TEMP_DIR_NAME
from sim2real_recorder.writer import DatasetWriter

FRAMES = 20


def run_recorder_until_killed(root: Path, mode: str) -> None:
    child = subprocess.Popen([sys.executable, __file__, str(root), mode], stdout=subprocess.PIPE, text=True)
    try:
        for line in child.stdout:
            if line.strip() == "RECORDING":  # mid-episode: kill it now
                os.kill(child.pid, signal.SIGKILL)
                break
        assert child.wait(timeout=120) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()


def assert_two_saved_episodes(root: Path) -> None:
    ds = load(root)
    assert (ds.num_episodes, len(ds)) == (2, 2 * FRAMES)
    for row in (0, FRAMES - 1, FRAMES, 2 * FRAMES - 1):
        episode, slot = divmod(row, FRAMES)
        item, expected = ds[row], frame(slot, episode)
        np.testing.assert_array_equal(item["action"].numpy(), expected["action"].astype(np.float32))
        for key in CAMERAS:
            decoded = item[key].numpy().transpose(1, 2, 0) * 255
            assert np.abs(decoded - expected[key]).mean() < 3


def test_sigkill_mid_episode_leaves_saved_episodes_loadable(tmp_path):
    root = tmp_path / "ds"
    run_recorder_until_killed(root, "mid_episode")
    assert (root / TEMP_DIR_NAME).exists()  # the third episode's partial videos, outside the dataset
    assert_two_saved_episodes(root)  # plain LeRobot, no recovery step
    with DatasetWriter(config(root)) as writer:  # and recording goes on
        assert writer.episodes_saved == 2
        record(writer, range(5), episode=2)
    assert load(root).num_episodes == 3
    assert not (root / TEMP_DIR_NAME).exists()


def test_sigkill_inside_save_is_rolled_back(tmp_path):
    root = tmp_path / "ds"
    run_recorder_until_killed(root, "mid_save")
    assert (root / TXN_DIR_NAME / "journal.json").exists()
    assert recover(root)  # what DatasetWriter does on open
    assert_two_saved_episodes(root)
    with DatasetWriter(config(root)) as writer:
        assert writer.episodes_saved == 2
        record(writer, range(5), episode=2)
    assert load(root).num_episodes == 3


def _recorder(root: Path, mode: str) -> None:
    writer = DatasetWriter(config(root))
    for episode in range(2):
        record(writer, range(FRAMES), episode)
    if mode == "mid_save":
        # Die inside LeRobot's save_episode, after it wrote the data parquet, moved the videos,
        # wrote info.json (3 episodes) and while it writes stats.json.
        import lerobot.datasets.lerobot_dataset as lerobot_dataset

        def write_stats_and_die(stats, root):
            (Path(root) / "meta" / "stats.json").write_text('{"observation.state": {"min": [')
            os.kill(os.getpid(), signal.SIGKILL)

        lerobot_dataset.write_stats = write_stats_and_die
    writer.start_episode()
    for slot in range(FRAMES // 2):
        writer.add_frame(frame(slot, 2), slot / 30)
    if mode == "mid_save":
        writer.save_episode()
    print("RECORDING", flush=True)
    signal.pause()


if __name__ == "__main__":
    _recorder(Path(sys.argv[1]), sys.argv[2])
