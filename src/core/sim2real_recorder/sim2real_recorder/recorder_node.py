"""Recorder node: records the contract's streams into a LeRobot dataset.

Streams (from the contract, relative to the robot namespace): the joint state topic ->
``observation.state``, the command (or leader-arm) topic -> ``action``, the camera topics ->
``observation.images.<camera>`` (the ``cameras`` subset). Messages go into the synchronizer
(sync.py: latest message at or before each frame time, ages and gaps checked); frames go into
the dataset writer (writer.py); the session (status.py) keeps phases and episode timing.

Frame clock (``frame_clock``):
- ``timer``: frames at ``fps`` on the node's clock (wall time, or /clock with use_sim_time), on
  the grid ``episode start + k / fps``, each sampled ``sample_delay_s`` after its time so that
  its messages have arrived; for real robots. A tick that finds several grid times due (the loop
  fell behind) samples each of them.
- ``reference``: one frame per new ``observation.state`` stamp, written once the next stamp
  arrives (by then every stream stamped at or before it is in: in lockstep sim the command for
  a state comes before the next state). Exact sim-time frames; an episode has one frame per sim
  step (the last state of an episode, never acted on, is not a frame).

Parameters: the robot package's recorder file (e.g. so101's config/so101_recorder.yaml, each one
commented there); ``contract`` is required, ``repo_id`` '' = ``local/<contract name>``. With
``bag:=true`` the raw messages of each saved episode also go to a rosbag2 (MCAP) at
``<dataset>/bags/episode_<index>`` (episode_bag.py), for re-conversion later with
``sim2real bag2dataset``.

Services (std_srvs/Trigger): ``~/start`` (refused while a stream has no publisher yet: its first
frames would be lost), ``~/save`` (refused, and the episode discarded, when a
stream has a gap longer than ``gap_threshold_s``: the reply names the stream and the time;
earlier episodes are never touched), ``~/discard``, ``~/stop`` (discard a partial episode,
finalize the dataset, reply, exit 0). SIGINT/SIGTERM do the same as stop.

Status: ``~/status`` (= ``recorder/status``), std_msgs/String JSON, transient local, on every
change and once a second: ``state`` (idle | recording | resetting | stopped), ``episode`` (the
current/next episode of this session, from 1: the number the replies, logs and keyboard show, as
"episode 3 of 5"), ``episode_index`` (LeRobot's 0-based dataset index of the current/next
episode), ``episodes_saved`` (this session), ``attempts``, ``target`` (num_episodes; 0 = none),
``elapsed_s`` (in the current phase), ``episode_time_s``, ``reset_time_s``, ``frames``,
``skipped`` (grid slots without a frame), ``streams`` (per feature: ``hz``, ``messages``,
``drops`` (frames without a new message), ``stale``, ``late``, ``longest_gap_s``), ``warnings``
(recent, since the episode started), ``last`` (the last event), ``dataset``, ``repo_id``,
``frame_clock``, ``fps``. A camera or the loop below the target fps, stale samples and a late
loop are ROS WARNs (and status warnings); the cores' Python logging goes to the ROS logger.
"""

from __future__ import annotations

import sim2real_common.startup  # noqa: F401  (first: a signal while importing ends quietly)

import json
import logging
import sys
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.subscription import Subscription
from sensor_msgs.msg import Image, Imu, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from sim2real_common.contract import FeatureBinding, load_contract
from sim2real_common.features import FeatureExtractionError, image_rgb, imu_values, joint_values, stamp_ns
from sim2real_common.node_runner import run_node
from sim2real_common.qos import STATUS_QOS
from sim2real_common.robot_config import load_robot_config
from sim2real_recorder.episode_bag import EpisodeBag
from sim2real_recorder.errors import FrameError, GapError
from sim2real_recorder.status import Due, Phase, Session, SessionConfig, SessionError
from sim2real_recorder.sync import EpisodeQuality, StreamSynchronizer
from sim2real_recorder.writer import DatasetWriter, WriterConfig, features_from_contract

FRAME_CLOCKS = ("timer", "reference")
SESSION_TICK_S = 0.1  # episode timing resolution (node clock)
STATUS_PERIOD_S = 1.0  # status republish (steady clock)
EXIT_GRACE_S = 0.3  # after stop: let the reply and the last status go out
WARNINGS_KEPT = 5
# Messages queued per stream while the node is busy (saving an episode, encoding video on a loaded
# machine): 2 s of 30 fps images, 10 s of joint states, before a late message is dropped.
IMAGE_QUEUE_DEPTH = 60
VECTOR_QUEUE_DEPTH = 300


class RosLogHandler(logging.Handler):
    """Python logging of the recorder cores (writer, sync) -> the node's ROS logger."""

    def __init__(self, node: Node) -> None:
        super().__init__(logging.INFO)
        self.node = node

    def emit(self, record: logging.LogRecord) -> None:
        logger = self.node.get_logger()
        text = self.format(record)
        if record.levelno >= logging.ERROR:
            logger.error(text)
        elif record.levelno >= logging.WARNING:
            logger.warning(text)
        else:
            logger.info(text)


class RecorderNode(Node):
    def __init__(self) -> None:
        super().__init__("recorder")
        # What close()/destroy_node() clean up, set before anything can fail: a recorder whose
        # start-up failed cleans up only what it built (nothing to finalize before the writer opened).
        self.writer: DatasetWriter | None = None
        self.session: Session | None = None
        self.bag: EpisodeBag | None = None
        self._closed = True
        self._log_handler = RosLogHandler(self)
        core_logger = logging.getLogger("sim2real_recorder")
        core_logger.setLevel(logging.INFO)
        core_logger.addHandler(self._log_handler)
        core_logger.propagate = False  # not twice when a library configured the root logger
        p = self._declare_parameters()
        self.contract = load_contract(p["contract"])
        cameras = list(self.declare_parameter(
            "cameras", [b.camera for b in self.contract.features.values() if b.is_image]).value)
        robot = load_robot_config(self.contract.robot)
        self.fps = float(p["fps"] or self.contract.fps)
        self.frame_clock = p["frame_clock"]
        self.features = features_from_contract(self.contract, cameras=cameras)
        root = Path(p["dataset"] or Path("outputs/datasets") / datetime.now().strftime("%Y%m%d-%H%M%S"))
        session_config = SessionConfig(episode_time_s=p["episode_time_s"], reset_time_s=p["reset_time_s"],
                                       num_episodes=p["num_episodes"])  # checked before the dataset is opened
        self.writer = DatasetWriter(WriterConfig(
            root=root, repo_id=p["repo_id"] or f"local/{self.contract.path.stem}", fps=self.fps,
            robot_type=robot.robot_type, task=p["task"] or self.contract.task, features=self.features))
        self._closed = False  # the dataset is open: close() finalizes it
        self.warnings: deque[str] = deque(maxlen=WARNINGS_KEPT)
        self.sync = StreamSynchronizer(self.contract, list(self.features), self.fps,
                                       gap_threshold_s=p["gap_threshold_s"], on_warning=self.warnings.append)
        self.session = Session(session_config, dataset_episodes=self.writer.episodes_saved)
        self.period_ns = round(1e9 / self.fps)
        self.delay_ns = round(p["sample_delay_s"] * 1e9)
        self._t0_ns: int | None = None  # timer clock: grid origin of the episode
        self._next_k = 0  # timer clock: the next grid slot to sample
        self._pending_ns: int | None = None  # reference clock: state stamp whose frame is not yet written
        self._floor_ns = -1  # newest state stamp before the episode started (not part of it)
        self._newest_state_ns = -1
        self._first_frame_ns: int | None = None
        self.last_event = f"opened {root} ({self.writer.episodes_saved} episodes)"
        if p["bag"]:
            topics = {self.resolve_topic_name(self.contract.features[n].topic): self.contract.features[n].type
                      for n in self.features}
            self.bag = EpisodeBag(root, topics)

        self._stream_subscriptions: dict[str, Subscription] = {}
        for name in self.features:
            self._subscribe(self.contract.features[name])
        self.status_pub = self.create_publisher(String, "~/status", STATUS_QOS)
        for name in ("start", "save", "discard", "stop"):
            self.create_service(Trigger, f"~/{name}", self._service(getattr(self, f"_{name}")))
        if self.frame_clock == "timer":
            self.create_timer(1.0 / self.fps, self._on_frame_timer)
        self.create_timer(SESSION_TICK_S, self._on_session_tick)
        self.create_timer(STATUS_PERIOD_S, self._on_status_timer, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"recording {list(self.features)} at {self.fps:g} fps ({self.frame_clock} clock) into {root} "
            f"({self.writer.episodes_saved} episodes there); services ~/start ~/save ~/discard ~/stop")
        for binding in self.contract.features.values():
            if binding.estimated and binding.name in self.features:
                self.get_logger().info(f"{binding.name}: {list(binding.estimated)} are estimates (the robot reads "
                                       f"back no position for them), recorded as its node publishes them")
        self._publish_status()

    def _declare_parameters(self) -> dict:
        defaults = {
            "dataset": "", "repo_id": "", "contract": "", "task": "", "fps": 0.0,
            "frame_clock": "timer", "sample_delay_s": 0.05, "episode_time_s": 60.0, "reset_time_s": 60.0,
            "num_episodes": 50, "gap_threshold_s": 0.5, "bag": False,
        }
        values = {k: self.declare_parameter(k, v).value for k, v in defaults.items()}
        if not values["contract"]:
            raise ValueError("parameter contract: required (a contract of a robot package, e.g. so101_pick_place)")
        if values["frame_clock"] not in FRAME_CLOCKS:
            raise ValueError(f"parameter frame_clock: expected one of {FRAME_CLOCKS}, got {values['frame_clock']!r}")
        if values["fps"] < 0 or values["gap_threshold_s"] <= 0 or values["sample_delay_s"] < 0:
            raise ValueError(f"parameters: expected fps >= 0 (0 = the contract's), gap_threshold_s > 0 and "
                             f"sample_delay_s >= 0, got {values['fps']}, {values['gap_threshold_s']} and "
                             f"{values['sample_delay_s']}")
        return values

    # -- streams ------------------------------------------------------------------------------
    def _subscribe(self, binding: FeatureBinding) -> None:
        if binding.type == "sensor_msgs/msg/JointState":
            convert, kind = joint_values, JointState
        elif binding.type == "sensor_msgs/msg/Image":
            convert, kind = image_rgb, Image
        elif binding.type == "sensor_msgs/msg/Imu":
            convert, kind = imu_values, Imu
        else:
            raise ValueError(f"feature {binding.name}: the recorder records JointState, Image and Imu streams, "
                             f"not {binding.type}")
        reference = self.frame_clock == "reference" and binding.name == "observation.state"
        depth = IMAGE_QUEUE_DEPTH if kind is Image else VECTOR_QUEUE_DEPTH
        self._stream_subscriptions[binding.name] = self.create_subscription(
            kind, binding.topic, lambda m, b=binding: self._on_message(b, m, convert, reference), depth)

    def _on_message(self, binding: FeatureBinding, msg: JointState | Image,
                    convert: Callable[[FeatureBinding, Any], np.ndarray], reference: bool) -> None:
        try:
            value = convert(binding, msg)
        except FeatureExtractionError as err:
            self._warn(str(err))
            return
        stamp = stamp_ns(msg)
        self.sync.push(binding.name, stamp, value)
        if self.bag is not None and self.session.phase is Phase.RECORDING:
            topic = self._stream_subscriptions[binding.name].topic_name
            self.bag.write(topic, self.get_clock().now().nanoseconds, msg)
        if reference:
            self._on_reference_stamp(stamp)

    def _on_reference_stamp(self, stamp: int) -> None:
        """Reference clock: a newer state stamp completes the frame of the previous one."""
        if stamp <= self._newest_state_ns:
            return
        self._newest_state_ns = stamp
        if self.session.phase is not Phase.RECORDING or stamp <= self._floor_ns:
            return
        if self._pending_ns is not None:
            if self._first_frame_ns is None:
                self._first_frame_ns = self._pending_ns
            self._write_frame(self._pending_ns, self._pending_ns - self._first_frame_ns)
        self._pending_ns = stamp

    def _on_frame_timer(self) -> None:
        """Timer clock: sample every grid time that is due (more than one: the loop fell behind)."""
        if self.session.phase is not Phase.RECORDING:
            return
        now = self.get_clock().now().nanoseconds - self.delay_ns
        if self._t0_ns is None:
            self._t0_ns, self._next_k = now, 0
        due = 0
        while self._t0_ns + self._next_k * self.period_ns <= now:
            k = self._next_k
            self._next_k += 1
            due += 1
            if not self._write_frame(self._t0_ns + k * self.period_ns, k * self.period_ns) and not self.writer.frames_in_episode:
                self._t0_ns = None  # streams not all in yet: the episode starts at the first complete frame
                return
        if due > 1:
            self._warn(f"recording loop behind: {due} frames due in one tick (target {self.fps:g} fps)")

    def _write_frame(self, frame_ns: int, offset_ns: int) -> bool:
        """Sample the streams at ``frame_ns`` and add the frame at ``offset_ns`` into the episode."""
        values = self.sync.sample(frame_ns)
        if values is None:
            return False
        try:
            self.writer.add_frame(values, offset_ns / 1e9)
        except FrameError as err:
            self._warn(f"frame at t={offset_ns / 1e9:.4f} s not recorded: {err}")
            return False
        return True

    # -- services -----------------------------------------------------------------------------
    def _service(self, action: Callable[[], str]) -> Callable[[Trigger.Request, Trigger.Response], Trigger.Response]:
        def callback(request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
            response.success, response.message = self._run_action(action)
            return response

        return callback

    def _run_action(self, action: Callable[[], str]) -> tuple[bool, str]:
        """Run a session action (service or episode timing); refusals are replies, not errors."""
        try:
            result = (True, action())
        except SessionError as err:
            result = (False, str(err))
        self._publish_status()
        if self.session.phase is Phase.STOPPED:
            self.close()
        return result

    def _start(self) -> str:
        unmatched = [sub.topic_name for sub in self._stream_subscriptions.values() if not sub.get_publisher_count()]
        if unmatched:  # recording now would lose the first frames of those streams
            self._warn(f"cannot start: no publisher (yet) on {', '.join(unmatched)}")
            raise SessionError(self.warnings[-1])
        self.session.start(self._now_s())
        self.warnings.clear()  # the status (and the operator's screen) shows this episode's warnings
        self.sync.reset()
        self.writer.start_episode()
        if self.bag is not None:
            self.bag.start()
        self._t0_ns = self._pending_ns = self._first_frame_ns = None
        self._floor_ns = self._newest_state_ns
        self.last_event = f"recording {self.session.episode_label}"
        self.get_logger().info(f"{self.last_event} (episode_index {self.session.dataset_episodes})")
        return self.last_event

    def _save(self) -> str:
        self.session.check_recording("save")
        label = self.session.episode_label
        frames = self.writer.frames_in_episode
        try:
            if not frames:
                raise SessionError("no frames recorded (are the streams publishing?)")
            self.sync.check_saveable()
        except (GapError, SessionError) as err:
            self.writer.discard_episode()
            if self.bag is not None:
                self.bag.discard()
            self.session.episode_ended(self._now_s(), saved=False)
            self.last_event = f"{label} not saved, discarded: {err}"
            self.get_logger().error(f"{self.last_event} (the dataset keeps its {self.writer.episodes_saved} "
                                    "earlier episodes)")
            raise SessionError(self.last_event) from err
        quality = self.sync.episode_report()
        saved_index = self.writer.save_episode()
        if self.bag is not None:
            self.bag.save(saved_index)
        self.session.episode_ended(self._now_s(), saved=True)
        self.last_event = f"saved {label} (episode_index {saved_index}, {frames} frames)"
        self.get_logger().info(f"{self.last_event}: {quality.summary()}")
        return self.last_event

    def _discard(self) -> str:
        self.session.check_recording("discard")
        label = self.session.episode_label
        frames = self.writer.frames_in_episode
        self.writer.discard_episode()
        if self.bag is not None:
            self.bag.discard()
        self.session.episode_ended(self._now_s(), saved=False)
        self.last_event = f"discarded {label} ({frames} frames)"
        self.get_logger().info(self.last_event)
        return self.last_event

    def _stop(self) -> str:
        if self.session.phase is Phase.STOPPED:
            raise SessionError("already stopped")
        self.close()
        return self.last_event

    # -- timers -------------------------------------------------------------------------------
    def _on_session_tick(self) -> None:
        due = self.session.due(self._now_s())
        if due is not None:
            self._run_action(self._save if due is Due.SAVE else self._start)

    def _on_status_timer(self) -> None:
        self._publish_status()

    # -- status, shutdown ---------------------------------------------------------------------
    def _now_s(self) -> float:
        return self.get_clock().now().nanoseconds / 1e9

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        self.get_logger().warning(text, throttle_duration_sec=2.0)

    def _publish_status(self) -> None:
        report = self.session.report(
            self._now_s(), frames=self.writer.frames_in_episode, skipped=self.writer.skipped_in_episode,
            streams=_stream_status(self.sync.episode_report()), warnings=list(self.warnings), last=self.last_event,
            dataset=str(self.writer.config.root), repo_id=self.writer.config.repo_id,
            frame_clock=self.frame_clock, fps=self.fps)
        self.status_pub.publish(String(data=json.dumps(report)))

    def close(self) -> None:
        """Discard a partial episode, finalize the dataset (once); the node then exits."""
        if self._closed:
            return
        self._closed = True
        if not self.context.ok():  # shut down (SIGINT): the ROS logger cannot publish any more
            logging.getLogger("sim2real_recorder").removeHandler(self._log_handler)
        partial = self.session is not None and self.session.phase is Phase.RECORDING
        if self.bag is not None:
            self.bag.discard()  # the partial episode's bag, like the episode
        self.writer.finalize()
        if self.session is None:  # start-up failed after the writer opened the dataset
            return
        self.session.stop()
        self.last_event = (f"finalized {self.writer.config.root}: {self.writer.episodes_saved} episodes "
                           f"({self.session.saved} saved in this session"
                           + (", the partial episode discarded)" if partial else ")"))
        print(self.last_event, file=sys.stderr, flush=True)

    def run(self) -> int:
        """Spin until stopped (service, target reached) or shut down (SIGINT/SIGTERM); exit 0."""
        try:
            while not self._closed:
                rclpy.spin_once(self, timeout_sec=0.1)
            self._publish_status()
            end = time.monotonic() + EXIT_GRACE_S
            while time.monotonic() < end:
                rclpy.spin_once(self, timeout_sec=0.05)
        except (KeyboardInterrupt, ExternalShutdownException):
            pass  # destroy_node closes the dataset
        return 0

    def destroy_node(self) -> None:
        try:
            self.close()
        finally:
            logging.getLogger("sim2real_recorder").removeHandler(self._log_handler)
            super().destroy_node()


def _stream_status(quality: EpisodeQuality) -> dict[str, dict]:
    return {name: {"hz": round(q.rate_hz, 2), "messages": q.messages, "drops": q.repeated + q.missing,
                   "stale": q.stale, "late": q.late, "longest_gap_s": round(q.longest_gap_s, 3)}
            for name, q in quality.streams.items()}


def main(args: list[str] | None = None) -> None:
    run_node(RecorderNode, args, run=lambda node: node.run())


if __name__ == "__main__":
    main()
