"""`so101 bag2dataset`: bags written here with rosbags (sqlite3 and mcap, Image and
CompressedImage), converted through the contract, loaded back with LeRobotDataset, trained on."""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np
import pytest
import yaml

from so101_trainer.bag_replay import BagReplayError, convert

NS = 1_000_000_000
JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
CONTRACT = Path(__file__).resolve().parents[3] / "config" / "contracts" / "so101_pick_place.yaml"
T0 = 1_700_000_000 * NS + 123_456_789
H, W = 96, 128


def image(k: int, cam: int) -> np.ndarray:
    """Smooth, frame-dependent RGB image (survives video compression)."""
    y, x = np.mgrid[0:H, 0:W]
    img = np.stack([(x * 2 + k * 3) % 256, (y * 2 + cam * 60) % 256, np.full_like(x, (k * 7 + 40) % 256)], axis=2)
    return img.astype(np.uint8)


def joints(k: int, offset: float) -> np.ndarray:
    return np.array([np.sin(0.1 * k + i + offset) for i in range(6)], dtype=np.float64)


def write_bag(path: Path, storage: str, *, segments=((0, 60),), compressed: str = "", extra_topics=(),
              markers=()):
    """joint_states, joint_commands, two cameras at 30 Hz; returns {topic: [(stamp_ns, value)]}."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_HUMBLE)
    Header, Time = ts.types["std_msgs/msg/Header"], ts.types["builtin_interfaces/msg/Time"]
    JointState, Image = ts.types["sensor_msgs/msg/JointState"], ts.types["sensor_msgs/msg/Image"]
    Compressed = ts.types["sensor_msgs/msg/CompressedImage"]
    rng = np.random.default_rng(0)
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    written: dict[str, list] = {}
    period = NS / 30
    topics = {"/joint_states": ("sensor_msgs/msg/JointState", 0), "/joint_commands": ("sensor_msgs/msg/JointState", 5),
              "/overhead_cam/image_raw": ("sensor_msgs/msg/Image", 11),
              "/wrist_cam/image_raw" + ("/compressed" if compressed else ""):
                  (Compressed.__msgtype__ if compressed else "sensor_msgs/msg/Image", 17)}
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        conns = {t: writer.add_connection(t, mt, typestore=ts) for t, (mt, _) in topics.items()}
        for topic in extra_topics:
            writer.add_connection(topic, "sensor_msgs/msg/JointState", typestore=ts)
        msgs = []
        if markers:
            marker = writer.add_connection("/episode_marker", "std_msgs/msg/String", typestore=ts)
            String = ts.types["std_msgs/msg/String"]
            for log_t in markers:
                writer.write(marker, log_t, ts.serialize_cdr(String(data="start"), "std_msgs/msg/String"))
        for seg_start, count in segments:  # seg_start in frames (gaps between segments)
            for k in range(seg_start, seg_start + count):
                for cam, (topic, (mt, off_ms)) in enumerate(topics.items()):
                    stamp = T0 + round(k * period) + off_ms * 1_000_000 + int(rng.integers(-2, 3)) * 1_000_000
                    header = Header(stamp=Time(sec=stamp // NS, nanosec=stamp % NS), frame_id="")
                    if mt.endswith("JointState"):
                        value = joints(k, 0.0 if topic == "/joint_states" else 0.5)
                        msg = JointState(header=header, name=list(reversed(JOINTS)), position=value[::-1].copy(),
                                         velocity=np.zeros(6), effort=np.zeros(0))
                    else:
                        value = image(k, cam)
                        if mt.endswith("CompressedImage"):
                            import cv2

                            ok, buf = cv2.imencode(f".{compressed}", value[..., ::-1])
                            msg = Compressed(header=header, format=compressed, data=buf.ravel())
                        else:
                            msg = Image(header=header, height=H, width=W, encoding="rgb8", is_bigendian=0,
                                        step=W * 3, data=value.ravel())
                    written.setdefault(topic, []).append((stamp, value))
                    msgs.append((stamp + 3_000_000, topic, ts.serialize_cdr(msg, mt)))
        for log_t, topic, raw in sorted(msgs, key=lambda m: m[0]):
            writer.write(conns[topic], log_t, raw)  # the reader returns messages in log-time order
    for topic in written:
        written[topic].sort(key=lambda sv: sv[0])
    return written


def expected_frames(written, start: int, end: int):
    """Reference latest_before sampling on the 30 fps grid from the episode's first stamp."""
    streams = {t: [(s, v) for s, v in msgs if start <= s <= end] for t, msgs in written.items()}
    first = min(m[0][0] for m in streams.values())
    last = max(m[-1][0] for m in streams.values())
    frames, k = [], 0
    while (t := first + round(k * NS / 30)) <= last:
        picks = {}
        for topic, msgs in streams.items():
            i = bisect.bisect_right([s for s, _ in msgs], t) - 1
            if i < 0:
                break
            picks[topic] = msgs[i][1]
        else:
            frames.append(picks)
        k += 1
    return frames


def mapping(tmp_path: Path, **extra) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump({"contract": str(CONTRACT), **extra}))
    return path


def load(root: Path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset("local/so101_bags", root=root, video_backend="torchcodec")


def check_episode(ds, ep: int, frames, state_topic="/joint_states", wrist="/wrist_cam/image_raw", atol_img=12):
    idx = [i for i in range(len(ds.hf_dataset)) if int(ds.hf_dataset[i]["episode_index"]) == ep]
    assert len(idx) == len(frames)
    state = np.stack([ds.hf_dataset[i]["observation.state"].numpy() for i in idx])
    action = np.stack([ds.hf_dataset[i]["action"].numpy() for i in idx])
    np.testing.assert_allclose(state, np.stack([f[state_topic] for f in frames]), atol=1e-6)
    np.testing.assert_allclose(action, np.stack([f["/joint_commands"] for f in frames]), atol=1e-6)
    for j in (0, len(idx) // 2, len(idx) - 1):
        item = ds[idx[j]]
        for key, topic in (("observation.images.overhead_cam", "/overhead_cam/image_raw"),
                           ("observation.images.wrist_cam", wrist)):
            got = (item[key].numpy().transpose(1, 2, 0) * 255).astype(np.float32)
            diff = np.abs(got - frames[j][topic].astype(np.float32)).mean()
            assert diff < atol_img, (key, j, diff)


@pytest.fixture(scope="module")
def sqlite_dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bags")
    written = [write_bag(tmp / f"bag{i}", "sqlite3", segments=((i * 5, 45 + 10 * i),)) for i in range(2)]
    out = tmp / "ds"
    account = convert([tmp / "bag0", tmp / "bag1"], mapping(tmp), out, progress=False)
    return out, written, account


def test_sqlite_bags_one_episode_each(sqlite_dataset):
    out, written, account = sqlite_dataset
    ds = load(out)
    assert ds.meta.total_episodes == 2
    refs = [expected_frames(w, 0, 1 << 62) for w in written]
    assert ds.meta.total_frames == sum(len(r) for r in refs) == account.frames_out
    for ep, ref in enumerate(refs):
        check_episode(ds, ep, ref)
    assert account.messages_in["/joint_states"] == 45 + 55
    summary = account.summary()
    assert "frames dropped" in summary and "/wrist_cam/image_raw: 100" in summary


def test_mcap_gap_split_and_compressed_images(tmp_path):
    written = write_bag(tmp_path / "bag", "mcap", segments=((0, 40), (100, 35)), compressed="jpg")
    cfg = mapping(tmp_path, topics={"observation.images.wrist_cam": "/wrist_cam/image_raw/compressed"},
                  episodes={"split": "gap", "gap_s": 0.5})
    account = convert([tmp_path / "bag"], cfg, tmp_path / "ds", progress=False)
    ds = load(tmp_path / "ds")
    assert ds.meta.total_episodes == 2 == account.episodes_saved
    gap_mid = T0 + 70 * NS // 30
    refs = [expected_frames(written, 0, gap_mid), expected_frames(written, gap_mid, 1 << 62)]
    assert ds.meta.total_frames == sum(len(r) for r in refs)
    for ep, ref in enumerate(refs):
        check_episode(ds, ep, ref, wrist="/wrist_cam/image_raw/compressed", atol_img=15)


def test_marker_topic_splits_episodes(tmp_path):
    split = T0 + round(45.5 * NS / 30)
    written = write_bag(tmp_path / "bag", "sqlite3", segments=((0, 90),), markers=(T0 - NS // 10, split))
    cfg = mapping(tmp_path, episodes={"split": "marker", "marker_topic": "/episode_marker"},
                  features=["observation.state", "action", "observation.images.overhead_cam"])
    account = convert([tmp_path / "bag"], cfg, tmp_path / "ds", progress=False)
    ds = load(tmp_path / "ds")
    assert ds.meta.total_episodes == 2 == account.episodes_saved
    assert "observation.images.wrist_cam" not in ds.meta.features
    assert account.ignored_topics["/wrist_cam/image_raw"] == 90
    assert account.messages_in["/episode_marker"] == 2
    # messages logged (stamp + 3 ms) before the marker belong to episode 0
    w = {t: v for t, v in written.items() if t != "/wrist_cam/image_raw"}
    first = expected_frames(w, 0, split - 3_000_000)
    assert ds.meta.episodes[0]["length"] == len(first)
    assert ds.meta.total_frames == account.frames_out


def test_missing_topic_names_what_the_bag_has(tmp_path):
    write_bag(tmp_path / "bag", "mcap", segments=((0, 5),), extra_topics=("/other",))
    cfg = mapping(tmp_path, topics={"observation.images.wrist_cam": "/nope/image"})
    with pytest.raises(BagReplayError) as err:
        convert([tmp_path / "bag"], cfg, tmp_path / "ds", progress=False)
    message = str(err.value)
    assert "/nope/image" in message and "/joint_states" in message and "/overhead_cam/image_raw" in message
    assert not (tmp_path / "ds" / "data").exists()


def test_unsupported_type_is_named(tmp_path):
    write_bag(tmp_path / "bag", "sqlite3", segments=((0, 5),), extra_topics=("/other",))
    cfg = mapping(tmp_path, topics={"observation.images.wrist_cam": "/other"})
    with pytest.raises(BagReplayError, match=r"/other .* has type sensor_msgs/msg/JointState"):
        convert([tmp_path / "bag"], cfg, tmp_path / "ds", progress=False)


def test_cli_and_train_on_the_result(sqlite_dataset, tmp_path, capsys):
    from so101.cli import main

    out, _, _ = sqlite_dataset
    bag_dir = out.parent
    cli_out = tmp_path / "ds"
    assert main(["bag2dataset", str(bag_dir / "bag0"), "--config", str(mapping(tmp_path)), "--output", str(cli_out),
                 "--no-progress"]) == 0
    assert "frames out:" in capsys.readouterr().out
    from conftest import run_cli, train_args

    run = tmp_path / "run"
    assert run_cli(*train_args(out, run)) == 0
    assert (run / "checkpoints" / "last" / "pretrained_model" / "model.safetensors").is_file()
