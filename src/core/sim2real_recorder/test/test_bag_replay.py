"""`sim2real bag2dataset`: bags written here with rosbags (sqlite3 and mcap, Image and
CompressedImage), converted through the contract, loaded back with LeRobotDataset, trained on."""

from __future__ import annotations

import bisect
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim2real_common.config_files import resolve_config
from sim2real_common.errors import ConfigError
from sim2real_recorder.bag_replay import BagReplayError, convert, load_replay_config

NS = 1_000_000_000
JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
CONTRACT = resolve_config("contracts/so101_pick_place.yaml")
T0 = 1_700_000_000 * NS + 123_456_789
H, W = 96, 128


def image(k: int, cam: int, size: tuple[int, int] = (H, W)) -> np.ndarray:
    """Smooth, frame-dependent RGB image (survives video compression and resizing)."""
    y, x = np.mgrid[0:size[0], 0:size[1]] * H // size[0]
    img = np.stack([(x * 2 + k * 3) % 256, (y * 2 + cam * 60) % 256, np.full_like(x, (k * 7 + 40) % 256)], axis=2)
    return img.astype(np.uint8)


def joints(k: int, offset: float) -> np.ndarray:
    return np.array([np.sin(0.1 * k + i + offset) for i in range(6)], dtype=np.float64)


def pose(k: int, obj: str) -> np.ndarray:
    """xyz + quat wxyz of a task object at frame k (the block slides, the bowl stays)."""
    if obj == "block":
        yaw = 0.01 * k
        return np.array([0.2 + 0.001 * k, 0.1, 0.0125, np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
    return np.array([0.15, -0.15, 0.0, 1.0, 0.0, 0.0, 0.0])


def write_bag(path: Path, storage: str, *, segments=((0, 60),), compressed: str = "", extra_topics=(),
              markers=(), size: tuple[int, int] = (H, W), poses: bool = False, zero_stamps: bool = False,
              sim_time: bool = False, silent: dict[str, range] | None = None, joint_names: dict[str, str] | None = None,
              odd_size_at: int | None = None, serialization: dict[str, str] | None = None):
    """joint_states, joint_commands, two cameras at 30 Hz (images ``size``), with ``poses`` the block
    and bowl PoseStamped; ``zero_stamps``: every header stamp is 0 (a driver that sets none);
    ``sim_time``: header stamps count from 0 (use_sim_time) while the bag logs wall-clock times;
    ``silent``: topic -> frames not written; ``joint_names``: JointState topic -> "q" (named q0..q5, as
    another project's driver) or "empty" (no names, values in the contract's joint order);
    ``odd_size_at``: from this frame on the overhead camera sends half-size images; ``serialization``:
    topic -> format declared for it. Returns {topic: [(stamp_ns, value)]} (the true stamps; each
    message is logged 3 ms after it)."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_HUMBLE)
    Header, Time = ts.types["std_msgs/msg/Header"], ts.types["builtin_interfaces/msg/Time"]
    JointState, Image = ts.types["sensor_msgs/msg/JointState"], ts.types["sensor_msgs/msg/Image"]
    Compressed = ts.types["sensor_msgs/msg/CompressedImage"]
    PoseStamped, Pose = ts.types["geometry_msgs/msg/PoseStamped"], ts.types["geometry_msgs/msg/Pose"]
    Point, Quaternion = ts.types["geometry_msgs/msg/Point"], ts.types["geometry_msgs/msg/Quaternion"]
    rng = np.random.default_rng(0)
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    written: dict[str, list] = {}
    period = NS / 30
    topics = {"/joint_states": ("sensor_msgs/msg/JointState", 0), "/joint_commands": ("sensor_msgs/msg/JointState", 5),
              "/overhead_cam/image_raw": ("sensor_msgs/msg/Image", 11),
              "/wrist_cam/image_raw" + ("/compressed" if compressed else ""):
                  (Compressed.__msgtype__ if compressed else "sensor_msgs/msg/Image", 17)}
    if poses:
        topics.update({"/objects/block/pose": ("geometry_msgs/msg/PoseStamped", 7),
                       "/objects/bowl/pose": ("geometry_msgs/msg/PoseStamped", 9)})
    silent, joint_names, serialization = silent or {}, joint_names or {}, serialization or {}
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        conns = {t: writer.add_connection(t, mt, typestore=ts, serialization_format=serialization.get(t, "cdr"))
                 for t, (mt, _) in topics.items()}
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
                    if k in silent.get(topic, ()):
                        continue
                    header_stamp = 0 if zero_stamps else stamp - T0 if sim_time else stamp
                    header = Header(stamp=Time(sec=header_stamp // NS, nanosec=header_stamp % NS), frame_id="")
                    if mt.endswith("PoseStamped"):
                        value = pose(k, topic.split("/")[2])
                        msg = PoseStamped(header=header, pose=Pose(position=Point(*map(float, value[:3])),
                                                                   orientation=Quaternion(*map(float, value[[4, 5, 6, 3]]))))
                    elif mt.endswith("JointState"):
                        value = joints(k, 0.0 if topic == "/joint_states" else 0.5)
                        style = joint_names.get(topic, "contract")
                        names = {"contract": list(reversed(JOINTS)), "q": [f"q{i}" for i in reversed(range(6))],
                                 "empty": []}[style]
                        msg = JointState(header=header, name=names,
                                         position=value.copy() if style == "empty" else value[::-1].copy(),
                                         velocity=np.zeros(6), effort=np.zeros(0))
                    else:
                        value = image(k, cam, (H // 2, W // 2) if odd_size_at is not None and k >= odd_size_at
                                      and topic == "/overhead_cam/image_raw" else size)
                        if mt.endswith("CompressedImage"):
                            import cv2

                            ok, buf = cv2.imencode(f".{compressed}", value[..., ::-1])
                            msg = Compressed(header=header, format=compressed, data=buf.ravel())
                        else:
                            msg = Image(header=header, height=value.shape[0], width=value.shape[1], encoding="rgb8",
                                        is_bigendian=0, step=value.shape[1] * 3, data=value.ravel())
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

    return LeRobotDataset("local/bags", root=root, video_backend="torchcodec")


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
    assert "bag topics of a fitting type: /wrist_cam/image_raw" in message  # /overhead_cam/image_raw is taken
    assert "`topics: {observation.images.wrist_cam: <topic>}`" in message
    assert not (tmp_path / "ds").exists()


def test_unsupported_type_is_named(tmp_path):
    write_bag(tmp_path / "bag", "sqlite3", segments=((0, 5),), extra_topics=("/other",))
    cfg = mapping(tmp_path, topics={"observation.images.wrist_cam": "/other"})
    with pytest.raises(BagReplayError, match=r"/other .* has type sensor_msgs/msg/JointState"):
        convert([tmp_path / "bag"], cfg, tmp_path / "ds", progress=False)


def test_cli_and_train_on_the_result(sqlite_dataset, tmp_path, capsys):
    from sim2real_bringup.cli import main

    out, _, _ = sqlite_dataset
    bag_dir = out.parent
    cli_out = tmp_path / "ds"
    assert main(["bag2dataset", str(bag_dir / "bag0"), "--config", str(mapping(tmp_path)), "--output", str(cli_out),
                 "--no-progress"]) == 0
    assert "frames out:" in capsys.readouterr().out
    run = tmp_path / "run"  # the dataset trains as it is (a tiny ACT, two steps)
    tiny_act = ["pretrained_backbone_weights=null", "chunk_size=10", "n_action_steps=10", "dim_model=64",
                "dim_feedforward=128", "n_heads=2", "n_encoder_layers=1", "n_decoder_layers=1"]
    assert main(["train", "--dataset", str(out), "--output", str(run), "--steps", "2", "--save-every", "2",
                 "--batch-size", "4", "--num-workers", "0", "--log-every", "1000", "--policy-config", *tiny_act]) == 0
    assert (run / "checkpoints" / "last" / "pretrained_model" / "model.safetensors").is_file()


STATE_ACTION = ["observation.state", "action"]


def column(ds, name: str, episode: int = 0) -> np.ndarray:
    return np.stack([ds.hf_dataset[i][name].numpy() for i in range(len(ds.hf_dataset))
                     if int(ds.hf_dataset[i]["episode_index"]) == episode])


def test_environment_state_joins_the_pose_topics_in_the_contract_layout(tmp_path):
    written = write_bag(tmp_path / "bag", "mcap", segments=((0, 40),), poses=True)
    cfg = mapping(tmp_path, features=[*STATE_ACTION, "observation.environment_state"])
    account = convert([tmp_path / "bag"], cfg, tmp_path / "ds", progress=False)
    ds = load(tmp_path / "ds")
    assert ds.meta.features["observation.environment_state"]["shape"] == [10] or \
        tuple(ds.meta.features["observation.environment_state"]["shape"]) == (10,)
    # The feature is pushed when the second object's pose arrives: block k + bowl k at the bowl's stamp.
    joined = [(bowl_stamp, np.concatenate([block, bowl[:3]]))
              for (_, block), (bowl_stamp, bowl) in zip(written["/objects/block/pose"], written["/objects/bowl/pose"])]
    ref = expected_frames({"/joint_states": written["/joint_states"], "/joint_commands": written["/joint_commands"],
                           "env": joined}, 0, 1 << 62)
    env = column(ds, "observation.environment_state")
    assert len(env) == len(ref) == account.frames_out
    np.testing.assert_allclose(env, np.stack([f["env"] for f in ref]), atol=1e-6)
    assert account.messages_in["/objects/block/pose"] == account.messages_in["/objects/bowl/pose"] == 40


def test_log_stamps_replace_missing_header_stamps(tmp_path):
    written = write_bag(tmp_path / "bag", "sqlite3", segments=((0, 45),), zero_stamps=True)
    features = {"features": [*STATE_ACTION, "observation.images.overhead_cam"]}
    # header stamps (all 0): every message is at one instant, a single frame comes out
    header = convert([tmp_path / "bag"], mapping(tmp_path, **features), tmp_path / "ds_header", progress=False)
    assert header.frames_out == 1
    account = convert([tmp_path / "bag"], mapping(tmp_path, stamps="log", **features), tmp_path / "ds_log",
                      progress=False)
    logged = {t: [(s + 3_000_000, v) for s, v in msgs] for t, msgs in written.items() if "wrist" not in t}
    ref = expected_frames(logged, 0, 1 << 62)
    ds = load(tmp_path / "ds_log")
    assert ds.meta.total_frames == len(ref) == account.frames_out > 40
    np.testing.assert_allclose(column(ds, "observation.state"), np.stack([f["/joint_states"] for f in ref]), atol=1e-6)
    np.testing.assert_allclose(column(ds, "action"), np.stack([f["/joint_commands"] for f in ref]), atol=1e-6)


def test_resize_images_to_the_contract_size(tmp_path):
    import cv2

    written = write_bag(tmp_path / "bag", "mcap", segments=((0, 20),), size=(2 * H, 2 * W), compressed="png")
    topics = {"observation.images.wrist_cam": "/wrist_cam/image_raw/compressed"}
    with pytest.raises(Exception, match=r"images are 192x256 \(HxW\), contract expects 96x128 "
                                        r"\(set resize_images: true"):
        convert([tmp_path / "bag"], mapping(tmp_path, topics=topics), tmp_path / "ds_strict", progress=False)
    convert([tmp_path / "bag"], mapping(tmp_path, topics=topics, resize_images=True), tmp_path / "ds", progress=False)
    ds = load(tmp_path / "ds")
    ref = expected_frames(written, 0, 1 << 62)
    assert ds.meta.total_frames == len(ref)
    item = ds[len(ref) // 2]
    for key, topic in (("observation.images.overhead_cam", "/overhead_cam/image_raw"),
                       ("observation.images.wrist_cam", "/wrist_cam/image_raw/compressed")):
        got = item[key].numpy().transpose(1, 2, 0) * 255
        assert got.shape == (H, W, 3)
        want = cv2.resize(ref[len(ref) // 2][topic], (W, H), interpolation=cv2.INTER_AREA).astype(np.float32)
        assert np.abs(got - want).mean() < 12, key


@pytest.mark.parametrize("on_gap", ["discard", "keep"])
def test_an_episode_with_a_silent_stream_is_discarded_or_kept(tmp_path, on_gap):
    silent = {"/overhead_cam/image_raw": range(20, 50)}  # 1 s without the overhead camera
    write_bag(tmp_path / "bag", "sqlite3", segments=((0, 70),), silent=silent)
    cfg = mapping(tmp_path, features=[*STATE_ACTION, "observation.images.overhead_cam"],
                  episodes={"max_gap_s": 0.5, "on_gap": on_gap})
    account = convert([tmp_path / "bag"], cfg, tmp_path / "ds", progress=False)
    assert account.messages_in["/overhead_cam/image_raw"] == 40
    if on_gap == "discard":
        assert account.episodes_saved == 0 and account.frames_out == 0
        gap_drops = {reason: n for reason, n in account.dropped.items() if "gap >" in reason}
        assert list(gap_drops) == ["episode with a gap > max_gap_s=0.5 s (on_gap: discard)"], account.dropped
        assert list(gap_drops.values())[0] >= 69
        assert "observation.images.overhead_cam" in account.episodes_dropped[0]
        summary = account.summary()
        assert "record it again" not in summary and "`episodes: {on_gap: keep}`" in summary
    else:
        assert account.episodes_saved == 1 and account.frames_out >= 69
        assert "kept despite" in account.warnings[0] and "observation.images.overhead_cam" in account.warnings[0]
        assert load(tmp_path / "ds").meta.total_frames == account.frames_out


def test_sim_time_header_stamps_in_a_wall_clock_bag(tmp_path):
    written = write_bag(tmp_path / "bag", "mcap", segments=((0, 45),), sim_time=True)
    account = convert([tmp_path / "bag"], mapping(tmp_path), tmp_path / "ds", progress=False)
    ref = expected_frames(written, 0, 1 << 62)  # the true stamps, shifted to sim time: the same grid
    ds = load(tmp_path / "ds")
    assert ds.meta.total_frames == len(ref) == account.frames_out
    check_episode(ds, 0, ref)


# -- bags from other projects: joint names, killed recordings, unreadable bags, failed runs ---------

Q_RENAME = {f"q{i}": j for i, j in enumerate(JOINTS)}


def test_renamed_joints_and_empty_name_lists(tmp_path):
    """A driver naming its joints q0..q5 (renamed by the mapping) and one sending no names (read by
    index in the contract's order, stated in a warning): the values land on the right joints."""
    written = write_bag(tmp_path / "bag", "mcap", segments=((0, 30),),
                        joint_names={"/joint_states": "q", "/joint_commands": "empty"})
    cfg = mapping(tmp_path, joints={"rename": Q_RENAME})
    account = convert([tmp_path / "bag"], cfg, tmp_path / "ds", progress=False)
    check_episode(load(tmp_path / "ds"), 0, expected_frames(written, 0, 1 << 62))
    [note] = [w for w in account.warnings if "by index" in w]
    assert "/joint_commands (action) has empty joint names" in note and str(JOINTS) in note


def test_an_explicit_order_for_empty_name_lists(tmp_path):
    written = write_bag(tmp_path / "bag", "sqlite3", segments=((0, 20),), joint_names={"/joint_commands": "empty"})
    order = [*JOINTS[3:], *JOINTS[:3]]  # a recorder that wrote the wrist first
    cfg = mapping(tmp_path, features=STATE_ACTION, joints={"action": {"order": order}})
    convert([tmp_path / "bag"], cfg, tmp_path / "ds", progress=False)
    action = column(load(tmp_path / "ds"), "action")
    sent = np.stack([f["/joint_commands"] for f in expected_frames(
        {t: written[t] for t in ("/joint_states", "/joint_commands")}, 0, 1 << 62)])
    np.testing.assert_allclose(action, sent[:, [order.index(j) for j in JOINTS]], atol=1e-6)


def test_unmapped_joint_names_fail_before_writing_and_name_the_bag_topic(tmp_path):
    write_bag(tmp_path / "bag", "mcap", segments=((0, 10),), joint_names={"/joint_states": "q"})
    with pytest.raises(BagReplayError) as err:
        convert([tmp_path / "bag"], mapping(tmp_path), tmp_path / "ds", progress=False)
    message = str(err.value)
    assert str(tmp_path / "bag") in message and "/joint_states lacks joints" in message
    assert "`joints: {rename: {q5: shoulder_pan, q4: shoulder_lift" in message
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("extra, key, text", [
    ({"joint": {"rename": Q_RENAME}}, "joint", "did you mean 'joints'?"),
    ({"episodes": {"on_gaps": "keep"}}, "episodes.on_gaps", "did you mean 'on_gap'?"),
    ({"joints": {"rename": {"q0": "shoulder_pna"}}}, "joints.rename.q0", "did you mean 'shoulder_pan'?"),
    ({"joints": {"order": JOINTS[:5]}}, "joints.order", "lacks ['gripper'], joints of observation.state"),
    ({"joints": {"actoin": {"order": JOINTS}}}, "joints.actoin", "did you mean 'action'?"),
    ({"topics": {"observation.environment_state": {"blok": "/b"}}, "features": [*STATE_ACTION,
      "observation.environment_state"]}, "topics.observation.environment_state.blok", "did you mean 'block'?"),
])
def test_bad_mapping_names_file_and_key(tmp_path, extra, key, text):
    path = mapping(tmp_path, **extra)
    with pytest.raises(ConfigError) as err:
        load_replay_config(path)
    assert err.value.field == key and text in str(err.value) and str(path) in str(err.value)


def recovered(bag: Path, written):
    """The written messages that the reader recovered from a damaged bag (by topic and log time)."""
    from sim2real_recorder.bag_reader import open_bag

    opened = open_bag(bag)
    try:
        kept = {(c.topic, log_t) for c, log_t, _ in opened.messages(set(written))}
    finally:
        opened.close()
    return {t: [(s, v) for s, v in msgs if (t, s + 3_000_000) in kept] for t, msgs in written.items()}


def test_killed_mcap_recording_is_read_as_far_as_it_is_intact(tmp_path):
    written = write_bag(tmp_path / "bag", "mcap", segments=((0, 60),))
    (tmp_path / "bag" / "metadata.yaml").unlink()  # rosbag2 writes it on close
    mcap = tmp_path / "bag" / "bag.mcap"
    os.truncate(mcap, mcap.stat().st_size * 6 // 10)  # no summary, no footer, a chunk cut short
    account = convert([tmp_path / "bag"], mapping(tmp_path), tmp_path / "ds", progress=False)
    kept = recovered(tmp_path / "bag", written)
    ref = expected_frames(kept, 0, 1 << 62)
    assert 20 < len(ref) < 60 and account.frames_out == len(ref)
    check_episode(load(tmp_path / "ds"), 0, ref)
    text = "\n".join(account.warnings)
    assert "no metadata.yaml" in text and "bag.mcap: damaged or unfinished (File end magic is invalid.)" in text
    assert f"read {sum(map(len, kept.values()))} messages" in text and "the rest is lost" in text


@pytest.mark.parametrize("damage", ["no metadata", "truncated last page"])
def test_killed_sqlite_recording_is_read_as_far_as_it_is_intact(tmp_path, damage):
    written = write_bag(tmp_path / "bag", "sqlite3", segments=((0, 45),))
    (tmp_path / "bag" / "metadata.yaml").unlink()
    db = tmp_path / "bag" / "bag.db3"
    if damage == "truncated last page":
        os.truncate(db, db.stat().st_size - 2500)
    account = convert([tmp_path / "bag"], mapping(tmp_path), tmp_path / "ds", progress=False)
    kept = recovered(tmp_path / "bag", written)
    ref = expected_frames(kept, 0, 1 << 62)
    assert account.frames_out == len(ref) > 35
    check_episode(load(tmp_path / "ds"), 0, ref)
    text = "\n".join(account.warnings)
    assert "no metadata.yaml" in text
    if damage == "truncated last page":
        assert "bag.db3: truncated (" in text and "up to the damage" in text
        assert sum(map(len, kept.values())) < 4 * 45


def run_main(*argv, capsys):
    from sim2real_bringup.cli import main

    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("damage, text", [
    ("garbage", "not an MCAP file"),
    ("header only", "nothing could be recovered"),
    ("no storage", "not a rosbag2 bag (no metadata.yaml and no .db3 / .mcap file)"),
    ("json", "is serialized as 'json'; bag2dataset reads ROS 2 (cdr) messages only"),
    ("ros1", "a ROS 1 bag"),
])
def test_an_unreadable_bag_is_one_line_naming_the_file(tmp_path, capsys, damage, text):
    bag = tmp_path / "bag"
    write_bag(bag, "mcap", segments=((0, 5),), serialization={"/joint_states": "json"} if damage == "json" else None)
    mcap = bag / "bag.mcap"
    if damage == "garbage":
        mcap.write_bytes(b"not a bag at all" * 100)
    elif damage == "header only":
        os.truncate(mcap, 40)
    elif damage == "no storage":
        mcap.unlink()
        (bag / "metadata.yaml").unlink()
    elif damage == "ros1":
        bag = tmp_path / "old.bag"
        bag.write_bytes(b"#ROSBAG V2.0\n")
    rc, _, err = run_main("bag2dataset", bag, "--config", mapping(tmp_path), "--output", tmp_path / "ds",
                          "--no-progress", capsys=capsys)
    assert rc == 2 and text in err and str(bag) in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "ds").exists()


def test_a_run_that_fails_midway_leaves_nothing_and_the_retry_converts(tmp_path):
    write_bag(tmp_path / "bag", "mcap", segments=((0, 60),), odd_size_at=40)
    features = {"features": [*STATE_ACTION, "observation.images.overhead_cam"]}
    with pytest.raises(BagReplayError) as err:  # the first images fit: the run starts, then fails at frame 40
        convert([tmp_path / "bag"], mapping(tmp_path, **features), tmp_path / "ds", progress=False)
    message = str(err.value)
    assert "/overhead_cam/image_raw images are 48x64" in message and str(tmp_path / "bag") in message
    assert f"nothing was kept: {tmp_path / 'ds'} was removed" in message
    assert not (tmp_path / "ds").exists()
    account = convert([tmp_path / "bag"], mapping(tmp_path, resize_images=True, **features), tmp_path / "ds",
                      progress=False)
    assert load(tmp_path / "ds").meta.total_frames == account.frames_out > 55


def test_an_empty_dataset_left_by_a_killed_run_is_started_afresh(tmp_path):
    from sim2real_recorder.writer import DatasetWriter, WriterConfig

    # a run with other settings, killed before its first save: meta/info.json and nothing else
    DatasetWriter(WriterConfig(root=tmp_path / "ds", repo_id="local/bags", fps=30, robot_type="so101_follower",
                               task="t", features={"x": {"dtype": "float32", "shape": (2,), "names": None}})).finalize()
    assert (tmp_path / "ds" / "meta" / "info.json").is_file()
    write_bag(tmp_path / "bag", "sqlite3", segments=((0, 20),))
    account = convert([tmp_path / "bag"], mapping(tmp_path, features=STATE_ACTION), tmp_path / "ds", progress=False)
    assert load(tmp_path / "ds").meta.total_episodes == 1 == account.episodes_saved
