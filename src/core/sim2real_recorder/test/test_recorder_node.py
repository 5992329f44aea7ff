"""The recorder: its session bookkeeping (ROS-free), then the recorder node as a real ROS 2
process fed by a real rclpy node (joint states, commands, camera), driven through its services,
and the dataset it writes opened with LeRobot."""

from __future__ import annotations

import json
import re
import threading
import time

import numpy as np
import pytest
import rclpy
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from sim2real_common.qos import STATUS_QOS
from sim2real_common.ros_testing import isolate_ros, start_node, stop_node
from sim2real_recorder.status import Due, Phase, Session, SessionConfig, SessionError

JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
PERIOD_NS = 33_333_333  # one 30 fps sim tick
REPO = "local/test_recorder"


# -- session (no ROS) -----------------------------------------------------------------------------

def test_session_driven_by_requests_goes_idle_between_episodes():
    session = Session(SessionConfig(), dataset_episodes=3)
    with pytest.raises(SessionError, match="nothing to save"):
        session.check_recording("save")
    session.start(10.0)
    with pytest.raises(SessionError, match="already recording"):
        session.start(10.5)
    assert session.due(1e6) is None  # no episode time limit
    assert session.episode_ended(12.0, saved=True) is Phase.IDLE
    session.start(13.0)
    assert session.episode_ended(14.0, saved=False) is Phase.IDLE
    report = session.report(14.5)
    assert (report["state"], report["episode_index"], report["episodes_saved"], report["attempts"]) == ("idle", 4, 1, 2)
    assert report["elapsed_s"] == 0.5


def test_session_timed_like_lerobot_record():
    session = Session(SessionConfig(episode_time_s=5.0, reset_time_s=2.0, num_episodes=2), dataset_episodes=0)
    session.start(0.0)
    assert session.due(4.9) is None and session.due(5.0) is Due.SAVE
    assert session.episode_ended(5.0, saved=True) is Phase.RESETTING
    assert session.due(6.9) is None and session.due(7.0) is Due.START
    session.start(6.0)  # the keyboard ends the reset period early
    assert session.episode_ended(7.0, saved=False) is Phase.RESETTING  # re-record: reset, then again
    session.start(9.0)
    assert session.episode_ended(14.0, saved=True) is Phase.STOPPED  # target reached: no reset after the last
    assert session.target_reached and session.saved == 2
    with pytest.raises(SessionError, match="stopped"):
        session.start(15.0)


def test_session_saved_by_the_keyboard_still_has_its_reset_period():
    """episode_time_s 0 (episodes end by save/discard) with a reset_time_s: the reset period and
    then the automatic start still follow, as record_real's --show-args says."""
    session = Session(SessionConfig(episode_time_s=0.0, reset_time_s=3.0, num_episodes=0), dataset_episodes=0)
    session.start(0.0)
    assert session.due(1e6) is None  # no episode time limit
    assert session.episode_ended(20.0, saved=True) is Phase.RESETTING
    assert session.due(22.9) is None and session.due(23.0) is Due.START
    report = session.report(21.0)
    assert (report["state"], report["episode"], report["reset_time_s"]) == ("resetting", 2, 3.0)


def test_session_config_rejects_negative_values():
    with pytest.raises(ValueError, match="reset_time_s"):
        SessionConfig(reset_time_s=-1.0)


# -- the node -------------------------------------------------------------------------------------

class Feeder(Node):
    """Publishes what a sim publishes (state, camera) and what a policy publishes (command);
    calls the recorder's services and collects its status. Spun in a background thread."""

    def __init__(self, namespace: str) -> None:
        super().__init__("feeder", namespace=namespace)
        self.state_pub = self.create_publisher(JointState, "joint_states", 50)
        self.command_pub = self.create_publisher(JointState, "joint_commands", 50)
        self.image_pub = self.create_publisher(Image, "overhead_cam/image_raw", 50)
        self.statuses: list[dict] = []
        self.create_subscription(String, "recorder/status", lambda m: self.statuses.append(json.loads(m.data)),
                                 STATUS_QOS)
        self.triggers = {n: self.create_client(Trigger, f"recorder/{n}") for n in ("start", "save", "discard", "stop")}
        self.executor_ = SingleThreadedExecutor()
        self.executor_.add_node(self)
        self._thread = threading.Thread(target=self.executor_.spin, daemon=True)
        self._thread.start()

    def call(self, name: str, timeout: float = 60.0) -> Trigger.Response:
        client = self.triggers[name]
        assert client.wait_for_service(timeout_sec=timeout), f"{client.srv_name} not available"
        future = client.call_async(Trigger.Request())
        end = time.monotonic() + timeout
        while not future.done() and time.monotonic() < end:
            time.sleep(0.01)
        assert future.done(), f"{client.srv_name}: no reply within {timeout} s"
        return future.result()

    def start_when_connected(self, timeout: float = 30.0) -> Trigger.Response:
        """recorder/start, repeated while the recorder says its streams have no publisher yet,
        once our publishers see the recorder's subscriptions (discovery is not symmetric: before
        that, the first ticks would be lost)."""
        end = time.monotonic() + timeout
        publishers = (self.image_pub, self.state_pub, self.command_pub)
        while min(p.get_subscription_count() for p in publishers) == 0 and time.monotonic() < end:
            time.sleep(0.05)
        while not (reply := self.call("start")).success and time.monotonic() < end:
            assert "no publisher" in reply.message, reply.message
            time.sleep(0.2)
        return reply

    def publish(self, stamp_ns: int, value: float, image: bool = True) -> None:
        """One tick: camera, state (as the sim, joint states last), then the command for it."""
        sec, nanosec = divmod(stamp_ns, 1_000_000_000)
        if image:
            img = Image(height=96, width=128, encoding="rgb8", step=128 * 3)
            img.header.stamp.sec, img.header.stamp.nanosec = sec, nanosec
            img.data = np.full((96, 128, 3), int(value * 100) % 256, dtype=np.uint8).tobytes()
            self.image_pub.publish(img)
        for pub, offset in ((self.state_pub, 0.0), (self.command_pub, 0.01)):
            msg = JointState(name=JOINTS, position=[value + offset + 0.1 * j for j in range(6)])
            msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
            pub.publish(msg)

    def status_where(self, predicate, timeout: float = 20.0) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for status in reversed(list(self.statuses)):
                if predicate(status):
                    return status
            time.sleep(0.02)
        raise AssertionError(f"no such status; last: {self.statuses[-1:] }")

    def close(self) -> None:
        self.executor_.shutdown()
        self.destroy_node()


@pytest.fixture(scope="module")
def ros(tmp_path_factory):
    isolate_ros(tmp_path_factory.mktemp("ros_log"))
    rclpy.init()
    yield
    rclpy.shutdown()


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    return tmp_path_factory.mktemp("datasets") / "so101"


def _recorder(namespace: str, log, root, **params):
    """A recorder process; without timing parameters it is driven by services only."""
    params = {"episode_time_s": 0.0, "reset_time_s": 0.0, "num_episodes": 0, **params}
    return start_node("sim2real_recorder.recorder_node", namespace=namespace, log=log,
                      params={"dataset": str(root), "repo_id": REPO, "contract": "so101_pick_place",
                              "cameras": "[overhead_cam]", **params})


def _feed(feeder: Feeder, first: int, ticks: int, image: bool = True) -> int:
    """Publish ``ticks`` sim ticks from tick ``first``; returns the next tick."""
    for k in range(first, first + ticks):
        feeder.publish(k * PERIOD_NS + 1_000_000_000, value=k / 100, image=image)
        time.sleep(0.01)
    return first + ticks


def _feed_until_frames(feeder: Feeder, first: int, frames: int, spare: int = 30) -> int:
    """Publish ticks from ``first`` until the recorder reports ``frames`` frames: a message that
    arrives late (after the next state) costs its frame, so a fixed tick count can fall short.
    Returns the next tick."""
    tick = first
    while tick < first + frames + spare:
        if feeder.statuses and feeder.statuses[-1].get("frames", 0) >= frames:
            return tick
        tick = _feed(feeder, tick, 1)
    feeder.status_where(lambda s: s["frames"] >= frames)
    return tick


def test_services_save_discard_refuse_gaps_and_stop(ros, dataset_root, tmp_path):
    log = tmp_path / "recorder.log"
    feeder = Feeder("rec_a")
    proc = _recorder("rec_a", log, dataset_root, frame_clock="reference")
    try:
        idle = feeder.status_where(lambda s: s["state"] == "idle", timeout=60)
        assert (idle["episode_index"], idle["episodes_saved"], idle["frame_clock"]) == (0, 0, "reference")
        assert feeder.call("save").success is False  # nothing recorded yet

        assert feeder.start_when_connected().success, log.read_text()[-2000:]
        tick = _feed_until_frames(feeder, 0, 20)  # a frame completes when its successor state arrives
        reply = feeder.call("save")
        match = re.fullmatch(r"saved episode 1 \(episode_index 0, (\d+) frames\)", reply.message)
        assert reply.success and match, reply.message
        saved_frames = int(match[1])
        assert saved_frames >= 20

        assert feeder.call("start").success
        tick = _feed(feeder, tick, 6)
        reply = feeder.call("discard")
        assert reply.success and re.fullmatch(r"discarded episode 2 \(\d+ frames\)", reply.message), reply.message

        assert feeder.call("start").success  # the camera stalls for 0.83 s (threshold 0.5 s)
        tick = _feed(feeder, tick, 10)
        tick = _feed(feeder, tick, 25, image=False)
        tick = _feed(feeder, tick, 5)
        feeder.status_where(lambda s: s["frames"] >= 37)  # 39 unless a late message cost a frame
        reply = feeder.call("save")
        assert reply.success is False
        assert reply.message.startswith("episode 2 not saved, discarded")  # a re-recorded episode keeps its number
        assert "observation.images.overhead_cam" in reply.message
        assert "nothing new for 0.8" in reply.message and "from t=0.30 s" in reply.message, reply.message
        status = feeder.status_where(lambda s: "not saved" in s["last"])
        assert (status["state"], status["episodes_saved"], status["attempts"]) == ("idle", 1, 3)

        assert feeder.call("start").success
        _feed(feeder, tick, 5)
        reply = feeder.call("stop")
        assert reply.success and "1 episodes" in reply.message and "partial episode discarded" in reply.message
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
        assert feeder.status_where(lambda s: s["state"] == "stopped")
    finally:
        feeder.close()
        stop_node(proc)

    dataset = LeRobotDataset(REPO, root=dataset_root, video_backend="torchcodec")
    assert (dataset.num_episodes, dataset.num_frames, dataset.fps) == (1, saved_frames, 30)
    frames = [dataset[i] for i in range(saved_frames)]
    assert [round(float(f["timestamp"]) * 30) for f in frames] == list(range(saved_frames))
    ticks = [round(float(f["observation.state"][0]) * 100) for f in frames]
    assert ticks == sorted(set(ticks)) and ticks[0] <= 1, ticks  # in order; a late message costs one frame
    stale = 0
    for k, frame in zip(ticks, frames):  # frame k holds tick k of every stream, or an older one
        expected = k / 100 + 0.1 * np.arange(6)
        np.testing.assert_allclose(frame["observation.state"].numpy(), expected, atol=1e-6)
        action = frame["action"].numpy()
        action_tick = round((float(action[0]) - 0.01) * 100)
        assert k - 2 <= action_tick <= k, (k, action)  # never from the future; late only under load
        np.testing.assert_allclose(action, action_tick / 100 + 0.1 * np.arange(6) + 0.01, atol=1e-6)
        stale += action_tick < k
        pixel = frame["observation.images.overhead_cam"].mean().item() * 255
        assert k - 5 < pixel < k + 3, (k, pixel)
    assert stale <= len(frames) // 4, stale  # the feed is 10 ms apart: nearly every frame is fresh
    text = log.read_text()
    assert f"saved episode 1 (episode_index 0, {saved_frames} frames): {saved_frames} frames in " in text
    assert re.search(r"\[INFO\].*discarded episode 2 \(\d+ frames\)", text)  # the launch window shows discards too
    assert re.search(r"\[INFO\].*recording episode 2 \(episode_index 1\)", text)
    assert "[WARN]" in text and "camera at" in text and "below the 30 fps target" in text  # the stall was loud


def _stream_continuously(feeder: Feeder, stop: threading.Event, image_every: int) -> None:
    """Wall-clock stamped stream at 30 Hz, the camera at 30 / image_every Hz (a real robot)."""
    tick = 0
    next_time = time.monotonic()
    while not stop.is_set():
        feeder.publish(time.time_ns(), value=(tick % 100) / 100, image=tick % image_every == 0)
        tick += 1
        next_time += 1 / 30
        time.sleep(max(0.0, next_time - time.monotonic()))


def test_timed_episodes_resume_the_dataset_and_warn_about_a_slow_camera(ros, dataset_root, tmp_path):
    log = tmp_path / "recorder.log"
    feeder = Feeder("rec_b")
    proc = _recorder("rec_b", log, dataset_root, frame_clock="timer", episode_time_s=1.5, reset_time_s=0.5,
                     num_episodes=2)
    stop = threading.Event()
    streamer = threading.Thread(target=_stream_continuously, args=(feeder, stop, 2), daemon=True)
    try:
        streamer.start()
        idle = feeder.status_where(lambda s: s["state"] == "idle", timeout=60)
        assert (idle["episode_index"], idle["target"]) == (1, 2)  # resumed: one episode there
        assert feeder.start_when_connected().success, log.read_text()[-2000:]
        # Saves itself after 1.5 s, resets 0.5 s, records again, then finalizes and exits.
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        stop.set()
        streamer.join()
        feeder.close()
        stop_node(proc)
    states = [s["state"] for s in feeder.statuses]
    assert "resetting" in states and states[-1] == "stopped"
    assert any("camera at 15" in w and "below the 30 fps target" in w for s in feeder.statuses for w in s["warnings"])
    text = log.read_text()
    assert "WARN" in text and "below the 30 fps target" in text

    dataset = LeRobotDataset(REPO, root=dataset_root, video_backend="torchcodec")
    assert dataset.num_episodes == 3
    for episode in (1, 2):
        meta = dataset.meta.episodes[episode]
        rows = range(meta["dataset_from_index"], meta["dataset_to_index"])
        stamps = np.array([float(dataset[i]["timestamp"]) for i in rows])
        assert np.all(np.diff(stamps) > 0)
        # episode_time_s = 1.5 s of frames, less the last slots still inside sample_delay_s (0.05 s)
        # at the auto-save; a loaded machine may see the auto-save a little late.
        assert 1.3 <= stamps[-1] - stamps[0] <= 2.5, stamps[-1] - stamps[0]
        np.testing.assert_allclose(stamps * 30, np.round(stamps * 30), atol=3e-3)  # on the fps grid


def test_sigint_discards_the_partial_episode_and_exits_cleanly(ros, dataset_root, tmp_path):
    log = tmp_path / "recorder.log"
    feeder = Feeder("rec_c")
    proc = _recorder("rec_c", log, dataset_root, frame_clock="reference")
    try:
        assert feeder.status_where(lambda s: s["state"] == "idle", timeout=60)["episode_index"] == 3
        assert feeder.start_when_connected().success
        _feed_until_frames(feeder, 0, 9)
    finally:
        feeder.close()
        assert stop_node(proc) == 0, log.read_text()[-3000:]
    assert "3 episodes (0 saved in this session, the partial episode discarded)" in log.read_text()
    assert LeRobotDataset(REPO, root=dataset_root, video_backend="torchcodec").num_episodes == 3


def test_bag_true_keeps_the_raw_topics_of_saved_episodes_only(ros, tmp_path):
    from rosbags.highlevel import AnyReader

    root = tmp_path / "bagged"
    log = tmp_path / "recorder.log"
    feeder = Feeder("rec_bag")
    proc = _recorder("rec_bag", log, root, frame_clock="reference", bag=True)
    try:
        assert feeder.start_when_connected().success, log.read_text()[-2000:]
        tick = _feed_until_frames(feeder, 0, 10)
        feeder.status_where(lambda s: s["frames"] >= 10)
        assert feeder.call("save").success
        assert feeder.call("start").success
        _feed(feeder, tick, 5)
        assert feeder.call("discard").success
        assert feeder.call("stop").success
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
    finally:
        feeder.close()
        stop_node(proc)
    bags = sorted(p.name for p in (root / "bags").iterdir())
    assert bags == ["episode_000000"]  # the discarded episode left no bag
    with AnyReader([root / "bags" / "episode_000000"]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        assert set(counts) == {"/rec_bag/joint_states", "/rec_bag/joint_commands", "/rec_bag/overhead_cam/image_raw"}
        assert all(n >= 10 for n in counts.values()), counts
        state = next(c for c in reader.connections if c.topic == "/rec_bag/joint_states")
        _, _, raw = next(reader.messages(connections=[state]))
        msg = reader.deserialize(raw, state.msgtype)
        assert list(msg.name) == JOINTS and msg.position[0] == pytest.approx(0.0)
