"""DatasetWriter round trip (what is written reads back through LeRobotDataset), resume,
refusals, and an in-process save failure rolled back."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata
from torchcodec.decoders import VideoDecoder

from sim2real_common.contract import load_contract
from sim2real_recorder.errors import DatasetMismatchError, FrameError, WriterConfigError, WriterStateError
from sim2real_recorder.transaction import TXN_DIR_NAME
from sim2real_recorder.video_encoding import TEMP_DIR_NAME
from sim2real_recorder.writer import DatasetWriter, WriterConfig, features_from_contract

CONTRACT = load_contract("so101_pick_place")
FEATURES = features_from_contract(CONTRACT)
CAMERAS = [k for k, ft in FEATURES.items() if ft["dtype"] == "video"]
H, W = 96, 128
REPO = "local/so101"


def config(root: Path, **overrides) -> WriterConfig:
    fields = {"root": root, "fps": CONTRACT.fps, "robot_type": "so101", "task": CONTRACT.task, "features": FEATURES}
    return WriterConfig(**(fields | overrides))


def image(slot: int, camera: int) -> np.ndarray:
    """A bright square whose position depends on the slot: neighbouring frames differ clearly."""
    img = np.full((H, W, 3), 40 + 30 * camera, np.uint8)
    r, c = (slot * 7) % (H - 24), (slot * 13) % (W - 24)
    img[r : r + 24, c : c + 24] = (230, 200 - 60 * camera, 30)
    return img


def frame(slot: int, episode: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1000 * episode + slot)
    values = {"observation.state": rng.uniform(-1, 1, 6), "action": rng.uniform(-1, 1, 6)}
    return values | {key: image(slot + 50 * episode, i) for i, key in enumerate(CAMERAS)}


def record(writer: DatasetWriter, slots, episode: int = 0) -> int:
    writer.start_episode()
    for slot in slots:
        writer.add_frame(frame(slot, episode), slot / 30)
    return writer.save_episode()


def load(root: Path) -> LeRobotDataset:
    return LeRobotDataset(REPO, root=root, video_backend="torchcodec")


def test_features_from_contract():
    assert FEATURES["observation.state"] == {"dtype": "float32", "shape": (6,), "names": list(
        CONTRACT.features["observation.state"].joints)}
    assert FEATURES["observation.images.wrist_cam"] == {"dtype": "video", "shape": (96, 128, 3),
                                                        "names": ["height", "width", "channels"]}
    assert "observation.environment_state" not in FEATURES  # sim-only
    sim = features_from_contract(CONTRACT, cameras=["wrist_cam"], include_sim_only=True)
    assert [k for k in sim if "images" in k] == ["observation.images.wrist_cam"]
    assert sim["observation.environment_state"]["names"][:4] == ["block.x", "block.y", "block.z", "block.qw"]
    with pytest.raises(WriterConfigError, match="cameras \\['nope'\\]"):
        features_from_contract(CONTRACT, cameras=["nope"])


def test_config_is_validated(tmp_path):
    with pytest.raises(WriterConfigError, match="fps"):
        config(tmp_path, fps=29.97)
    with pytest.raises(WriterConfigError, match="preset"):
        config(tmp_path, preset="warp")
    with pytest.raises(WriterConfigError, match="vcodec"):
        config(tmp_path, vcodec="gif")


def test_round_trip(tmp_path):
    root = tmp_path / "ds"
    slots = [[*range(20)], [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13]]  # episode 1: the loop missed slots 5, 6
    with DatasetWriter(config(root)) as writer:
        assert [record(writer, s, e) for e, s in enumerate(slots)] == [0, 1]
        assert writer.episodes_saved == 2

    ds = load(root)
    assert (ds.num_episodes, len(ds), ds.fps) == (2, 32, 30)
    assert ds.meta.robot_type == "so101" and ds.meta.tasks.index.tolist() == [CONTRACT.task]
    row = 0
    for episode, ep_slots in enumerate(slots):
        timestamps = []
        for slot in ep_slots:
            item = ds[row]
            expected = frame(slot, episode)
            assert item["episode_index"].item() == episode
            np.testing.assert_array_equal(item["observation.state"].numpy(),
                                          expected["observation.state"].astype(np.float32))
            np.testing.assert_array_equal(item["action"].numpy(), expected["action"].astype(np.float32))
            for i, key in enumerate(CAMERAS):
                decoded = item[key].numpy().transpose(1, 2, 0) * 255
                own = np.abs(decoded - expected[key]).mean()
                neighbour = np.abs(decoded - image(slot + 1 + 50 * episode, i)).mean()
                assert own < 3 < neighbour, (episode, slot, key, own, neighbour)
            timestamps.append(item["timestamp"].item())
            row += 1
        # True times: the gap of episode 1 stays in the timestamps.
        np.testing.assert_allclose(timestamps, np.array(ep_slots) / 30, atol=1e-6)
        assert np.all(np.diff(timestamps) > 0)

    # One file per episode; the video holds a frame for every grid slot (missed ones repeated).
    assert len(list((root / "data").rglob("*.parquet"))) == 2
    decoder = VideoDecoder(str(root / ds.meta.get_video_file_path(1, CAMERAS[0])))
    assert decoder.metadata.num_frames == 14
    info = json.loads((root / "meta" / "info.json").read_text())
    assert (info["data_files_size_in_mb"], info["video_files_size_in_mb"]) == (100, 200)  # restored
    assert info["features"][CAMERAS[0]]["info"]["video.codec"] == "h264"
    stats = json.loads((root / "meta" / "stats.json").read_text())
    assert max(np.ravel(stats[CAMERAS[0]]["std"])) > 0.1  # float stats (LeRobot 0.4.4 writes 0)
    assert not (root / TEMP_DIR_NAME).exists() and not (root / TXN_DIR_NAME).exists()


def test_resume_adds_episodes(tmp_path):
    root = tmp_path / "ds"
    with DatasetWriter(config(root)) as writer:
        record(writer, range(10))
    with DatasetWriter(config(root)) as writer:
        assert writer.episodes_saved == 1
        assert record(writer, range(8), episode=1) == 1
        assert record(writer, range(6), episode=2) == 2
    ds = load(root)
    assert ds.num_episodes == 3 and len(ds) == 24
    assert ds.hf_dataset["index"][:] is not None
    np.testing.assert_array_equal([int(i) for i in ds.hf_dataset["index"]], range(24))
    np.testing.assert_array_equal(ds[10]["observation.state"].numpy(),
                                  frame(0, 1)["observation.state"].astype(np.float32))
    assert LeRobotDatasetMetadata(REPO, root=root).episodes["dataset_from_index"] == [0, 10, 18]


def test_resume_of_a_dataset_without_episodes(tmp_path):
    root = tmp_path / "ds"
    DatasetWriter(config(root)).finalize()  # created, nothing saved
    with DatasetWriter(config(root)) as writer:
        assert writer.episodes_saved == 0
        record(writer, range(5))
    assert load(root).num_episodes == 1


def test_resume_refuses_other_settings(tmp_path):
    root = tmp_path / "ds"
    with DatasetWriter(config(root)) as writer:
        record(writer, range(3))
    other = dict(FEATURES)
    other["observation.state"] = {"dtype": "float32", "shape": (7,), "names": None}
    del other["observation.images.wrist_cam"]
    with pytest.raises(DatasetMismatchError) as error:
        DatasetWriter(config(root, features=other, fps=15))
    message = str(error.value)
    assert "fps 30 in the dataset, 15 in the config" in message
    assert "observation.state.shape: (6,) in the dataset, (7,) in the config" in message
    assert "observation.images.wrist_cam: in the dataset, not in the config" in message


def test_root_that_is_not_a_dataset_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(WriterConfigError, match="not a LeRobot dataset"):
        DatasetWriter(config(tmp_path))


def test_bad_frames_are_refused(tmp_path):
    with DatasetWriter(config(tmp_path / "ds")) as writer:
        with pytest.raises(WriterStateError, match="start_episode"):
            writer.add_frame(frame(0), 0.0)
        writer.start_episode()
        with pytest.raises(FrameError, match="off the 30 fps grid"):
            writer.add_frame(frame(0), 0.012)
        bad = frame(0) | {CAMERAS[0]: np.zeros((H, W, 3), np.float32)}
        with pytest.raises(FrameError, match="HWC uint8"):
            writer.add_frame(bad, 0.0)
        with pytest.raises(FrameError, match="missing \\['action'\\]"):
            writer.add_frame({k: v for k, v in frame(0).items() if k != "action"}, 0.0)
        writer.add_frame(frame(1), 1 / 30)
        with pytest.raises(FrameError, match="not after the previous frame"):
            writer.add_frame(frame(1), 1 / 30)
        with pytest.raises(WriterStateError, match="in progress"):
            writer.start_episode()


def test_discard_and_finalize(tmp_path):
    root = tmp_path / "ds"
    writer = DatasetWriter(config(root))
    writer.start_episode()
    for slot in range(5):
        writer.add_frame(frame(slot, 9), slot / 30)
    writer.discard_episode()
    record(writer, range(4))
    writer.start_episode()
    writer.add_frame(frame(0), 0.0)
    writer.finalize()  # discards the unsaved episode
    writer.finalize()
    with pytest.raises(WriterStateError, match="finalized"):
        writer.start_episode()
    ds = load(root)
    assert (ds.num_episodes, len(ds)) == (1, 4)
    np.testing.assert_array_equal(ds[0]["action"].numpy(), frame(0)["action"].astype(np.float32))
    assert not (root / TEMP_DIR_NAME).exists()


def test_failed_save_is_rolled_back(tmp_path, monkeypatch):
    """A save failing after LeRobot wrote the data parquet and moved the videos leaves no trace,
    and the writer keeps working."""
    root = tmp_path / "ds"
    writer = DatasetWriter(config(root))
    record(writer, range(6))
    files_before = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    with monkeypatch.context() as patch:
        patch.setattr(LeRobotDatasetMetadata, "save_episode", broken)
        with pytest.raises(OSError, match="disk full"):
            record(writer, range(6), episode=1)
    assert sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) == files_before
    assert writer.episodes_saved == 1 and not writer.recording
    assert record(writer, range(3), episode=2) == 1
    writer.finalize()
    ds = load(root)
    assert (ds.num_episodes, len(ds)) == (2, 9)
    np.testing.assert_array_equal(ds[6]["action"].numpy(), frame(0, 2)["action"].astype(np.float32))


def test_encoder_waits_instead_of_dropping_frames(tmp_path, monkeypatch):
    """A slow encoder makes feed_frame wait (measured), never lose a frame: a dropped frame would
    shift every later image of the episode against its parquet row."""
    from sim2real_recorder import video_encoding

    slow = video_encoding.auto_downsample_height_width

    def slow_stats(img):
        time.sleep(0.01)
        return slow(img)

    monkeypatch.setattr(video_encoding, "auto_downsample_height_width", slow_stats)
    encoder = video_encoding.StreamingEncoder(fps=30, settings=video_encoding.EncoderSettings(), queue_frames=2,
                                              stats_every=1)
    encoder.start_episode(["cam"], tmp_path)
    for slot in range(30):
        encoder.feed_frame("cam", image(slot, 0))
    assert encoder.blocked_s > 0.1
    (path, stats), = encoder.finish_episode().values()
    frames = VideoDecoder(str(path)).get_frames_in_range(start=0, stop=30).data.numpy()
    assert len(frames) == 30 and stats["count"][0] == 30
    for slot in (0, 17, 29):
        assert np.abs(frames[slot].transpose(1, 2, 0).astype(float) - image(slot, 0)).mean() < 3


def test_episode_is_unusable_after_add_frame_failed_half_way(tmp_path, monkeypatch):
    from sim2real_recorder.errors import EncoderError
    from sim2real_recorder.video_encoding import StreamingEncoder

    with DatasetWriter(config(tmp_path / "ds")) as writer:
        writer.start_episode()
        writer.add_frame(frame(0), 0.0)
        with monkeypatch.context() as patch:
            patch.setattr(StreamingEncoder, "feed_frame", lambda *a: (_ for _ in ()).throw(EncoderError("boom")))
            with pytest.raises(EncoderError):
                writer.add_frame(frame(1), 1 / 30)
        with pytest.raises(WriterStateError, match="discard_episode"):
            writer.save_episode()
        writer.discard_episode()
        assert record(writer, range(3)) == 0
    assert load(tmp_path / "ds").num_episodes == 1
