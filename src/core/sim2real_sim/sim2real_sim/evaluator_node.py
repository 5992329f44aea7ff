"""Evaluator node: runs N episodes through the graph (reset policy, reset sim, wait for the
episode to end), then prints a table and writes the JSON report (and an MP4 on request).

In the record role (``recorder: true``) it drives the recorder node instead: ``recorder/start``
after the policy reset and before the sim reset (in lockstep the sim steps as soon as it is
reset, so the reset observation is the episode's first frame), then ``recorder/save`` when the
task monitor says success (or ``keep: all``) and ``recorder/discard`` otherwise, until
``n_episodes`` episodes are saved (or ``max_attempts`` episodes were run), then ``recorder/stop``
(the dataset is finalized). The report then covers every attempt, each row saying if it was saved.

Exit code: 0 when every episode finished (record role: n_episodes saved), 1 otherwise (a stalled
graph, a failed service, max_attempts reached).
"""

from __future__ import annotations

import sim2real_common.startup  # noqa: F401  (first: a signal while importing ends quietly)

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger
from tqdm import tqdm

from sim2real_common.features import stamp_ns
from sim2real_common.node_runner import EXIT_INTERRUPTED, run_node, shutdown_requested
from sim2real_common.qos import STATUS_QOS
from sim2real_common.registry import scene as registered_scene
from sim2real_common.robot_config import load_robot_config
from sim2real_sim.evaluation import print_report, summarize, write_report
from sim2real_common.ros_conversions import image_array
from sim2real_sim.task import success_outcome, task_class
from sim2real_sim.video import CaptionedVideo

SERVICE_WAIT_S = 30.0
ANSWER_WAIT_S = 10.0  # how long the last command (and video frame) of an episode may take
KEEP = ("success", "all")


class EvaluationError(RuntimeError):
    pass


class Evaluator(Node):
    def __init__(self) -> None:
        super().__init__("evaluator")
        scene = self.declare_parameter("scene", "").value
        if not scene:
            raise ValueError("parameter scene: required (the sim bridge's scene, e.g. so101_pick_place)")
        self.task = task_class(scene)  # judges and reports the episodes
        self.n_episodes = int(self.declare_parameter("n_episodes", 10).value)
        report = self.declare_parameter("report", "").value
        self.record_video = bool(self.declare_parameter("record_video", False).value)
        video = self.declare_parameter("video_path", "").value
        # Frames come one per control tick: played at the control rate, the video runs in sim time.
        self.video_fps = float(self.declare_parameter("video_fps", 0.0).value) or load_robot_config(
            registered_scene(scene)[0].robot_config).control_hz
        self.episode_timeout = float(self.declare_parameter("episode_timeout_s", 120.0).value)
        self.recorder = bool(self.declare_parameter("recorder", False).value)
        self.keep = self.declare_parameter("keep", "success").value
        self.max_attempts = int(self.declare_parameter("max_attempts", 0).value)
        if self.n_episodes < 1:
            raise ValueError(f"parameter n_episodes: expected >= 1, got {self.n_episodes}")
        if self.keep not in KEEP:
            raise ValueError(f"parameter keep: expected one of {KEEP}, got {self.keep!r}")
        if self.max_attempts < 0:
            raise ValueError(f"parameter max_attempts: expected >= 0 (0 = no limit), got {self.max_attempts}")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.report_path = Path(report) if report else Path("outputs/eval") / stamp / "report.json"
        self.video_path = Path(video) if video else self.report_path.with_name("episodes.mp4")

        self.sim_reset = self.create_client(Trigger, "sim/reset")
        self.policy_reset = self.create_client(Trigger, "policy/reset")
        self.recorder_services = {name: self.create_client(Trigger, f"recorder/{name}")
                                  for name in ("start", "save", "discard", "stop")} if self.recorder else {}
        self.create_subscription(String, "episode_status", self._on_status, STATUS_QOS)
        self.create_subscription(JointState, "joint_commands", self._on_command, 10)
        self._status: dict | None = None
        self._answered_ns = -1  # newest observation stamp the policy has answered
        self._frame_ns = -1  # newest video frame stamp
        self._video: CaptionedVideo | None = None
        self._caption = ""
        if self.record_video:
            self.create_subscription(Image, "video/image_raw", self._on_frame, 50)

    def _on_status(self, msg: String) -> None:
        self._status = json.loads(msg.data)

    def _on_command(self, msg: JointState) -> None:
        self._answered_ns = max(self._answered_ns, stamp_ns(msg))

    def _wait_for_episode_end(self, status: dict) -> None:
        """Wait until the policy has answered the episode's last observation (and, with video,
        its frame has arrived), so the policy is reset after, never before, handling it: a late
        answer would otherwise be the first thing the reset policy sees, and the next episode
        would depend on message timing."""
        def pending() -> list[str]:
            late = ["policy command"] if self._answered_ns < status["stamp_ns"] else []
            return late + (["video frame"] if self.record_video and self._frame_ns < status["stamp_ns"] else [])

        deadline = time.monotonic() + ANSWER_WAIT_S
        while pending() and time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.05)
        if pending():
            self.get_logger().warning(f"no {' or '.join(pending())} for the last observation of episode "
                                      f"{status['episode']} within {ANSWER_WAIT_S:.0f} s")

    def _on_frame(self, msg: Image) -> None:
        self._frame_ns = max(self._frame_ns, stamp_ns(msg))
        if self._video is None:
            self._video = CaptionedVideo(self.video_path, fps=self.video_fps)
        self._video.add(image_array(msg), self._caption)

    def _call(self, client, what: str, check: bool = True) -> Trigger.Response:
        """Call a Trigger service; a failed reply raises unless ``check`` is False."""
        if not client.wait_for_service(timeout_sec=SERVICE_WAIT_S):
            raise EvaluationError(f"service {client.srv_name} ({what}) not available after {SERVICE_WAIT_S:.0f} s")
        future: Future = client.call_async(Trigger.Request())
        rclpy.spin_until_future_complete(self, future, timeout_sec=SERVICE_WAIT_S)
        if not future.done():
            raise EvaluationError(f"service {client.srv_name} ({what}) did not reply within {SERVICE_WAIT_S:.0f} s")
        if check and not future.result().success:
            raise EvaluationError(f"service {client.srv_name} ({what}) failed: {future.result().message}")
        return future.result()

    def _start_recorder(self) -> None:
        """recorder/start, retried while the recorder refuses (its streams not yet connected)."""
        deadline = time.monotonic() + SERVICE_WAIT_S
        while not (reply := self._call(self.recorder_services["start"], "recorder start", check=False)).success:
            if time.monotonic() > deadline:
                raise EvaluationError(f"recorder/start refused for {SERVICE_WAIT_S:.0f} s: {reply.message}")
            rclpy.spin_once(self, timeout_sec=0.2)

    def _run_episode(self, index: int) -> dict:
        policy = json.loads(self._call(self.policy_reset, "policy reset").message or "{}")
        if self.recorder:
            self._start_recorder()
        started = json.loads(self._call(self.sim_reset, "sim reset").message)
        self._caption = f"episode {index}  seed {started['seed']}"
        deadline = time.monotonic() + self.episode_timeout
        while time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.1)
            s = self._status
            if s and s["episode"] == started["episode"] and s["done"]:
                self._wait_for_episode_end(s)
                s = {k: v for k, v in s.items() if k != "stamp_ns"}
                return {**s, "episode": index, "policy_resets": policy.get("resets"),
                        "wall_time_s": round(self.episode_timeout - (deadline - time.monotonic()), 3)}
        raise EvaluationError(f"episode {index} (seed {started['seed']}) did not finish within "
                              f"{self.episode_timeout:.0f} s: is the policy node running and publishing joint_commands?")

    def _evaluate(self, episodes: list[dict]) -> None:
        for index in tqdm(range(self.n_episodes), desc="eval", unit="ep", file=sys.stderr):
            episodes.append(self._run_episode(index))

    def _record(self, episodes: list[dict]) -> None:
        """Episodes until n_episodes are saved: save the kept ones, discard the others."""
        saved = 0
        with tqdm(total=self.n_episodes, desc="record", unit="ep", file=sys.stderr) as bar:
            while saved < self.n_episodes:
                if self.max_attempts and len(episodes) >= self.max_attempts:
                    raise EvaluationError(f"{saved} of {self.n_episodes} episodes saved after "
                                          f"max_attempts={self.max_attempts} attempts")
                episode = self._run_episode(len(episodes))
                episode["saved"] = False
                if episode["outcome"] == success_outcome(self.task) or self.keep == "all":
                    reply = self._call(self.recorder_services["save"], "recorder save", check=False)
                    episode["saved"] = reply.success
                    if not reply.success:  # refused (stream gaps): the recorder discarded it
                        print(f"episode {episode['episode']} not saved: {reply.message}", file=sys.stderr, flush=True)
                else:
                    self._call(self.recorder_services["discard"], "recorder discard")
                episodes.append(episode)
                saved += episode["saved"]
                bar.update(int(episode["saved"]))
                bar.set_postfix(attempts=len(episodes))

    def run(self) -> int:
        episodes: list[dict] = []
        code = 0
        try:
            (self._record if self.recorder else self._evaluate)(episodes)
        except (KeyboardInterrupt, ExternalShutdownException):
            code = EXIT_INTERRUPTED  # the launch stops the recorder too: it discards the partial episode and finalizes
        except Exception as err:
            if shutdown_requested():  # SIGINT/SIGTERM took the ROS context down under a service call or spin
                code = EXIT_INTERRUPTED
            elif isinstance(err, EvaluationError):
                print(f"error: {err}", file=sys.stderr, flush=True)
                code = 1
            else:
                raise
        finally:
            if self._video is not None:
                self._video.close()
        meta = {"complete": code == 0, "n_requested": self.n_episodes}
        if self.recorder:
            meta.update(keep=self.keep, n_attempts=len(episodes), n_saved=sum(e["saved"] for e in episodes))
            if code != EXIT_INTERRUPTED:
                code = self._stop_recorder(meta) or code
                meta["complete"] = code == 0
        if not episodes:
            print("no episode finished: no report written", file=sys.stderr, flush=True)
            return code or 1
        report = summarize(episodes, self.task, meta=meta)
        if self._video is not None:
            report["video"] = str(self._video.path)
        print_report(report)
        write_report(report, self.report_path)
        # print, not the ROS logger: after Ctrl-C the ROS context is already shut down.
        print(f"report: {self.report_path}" + (f"\nvideo: {self._video.path}" if self._video else ""),
              flush=True)
        if self.recorder:
            print(f"recorded: {meta['n_saved']} episodes saved of {meta['n_attempts']} attempts "
                  f"(keep: {self.keep})" + (f"; {meta['recorder']}" if meta.get("recorder") else ""), flush=True)
        return code

    def _stop_recorder(self, meta: dict) -> int:
        """recorder/stop (the recorder finalizes the dataset and exits); its reply goes into
        ``meta``. Returns 1 when the recorder did not stop cleanly."""
        try:
            reply = self._call(self.recorder_services["stop"], "recorder stop")
        except EvaluationError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            return 1
        meta["recorder"] = reply.message
        return 0


def main(args: list[str] | None = None) -> None:
    run_node(Evaluator, args, run=lambda node: node.run())


if __name__ == "__main__":
    main()
