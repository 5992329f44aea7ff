"""Evaluator node: runs N episodes through the graph (reset policy, reset sim, wait for the
episode to end), then prints a table and writes the JSON report (and an MP4 on request).

Exit code: 0 when every episode finished, 1 otherwise (a stalled graph, a failed service).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import rclpy
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import Image
from std_msgs.msg import String
from std_srvs.srv import Trigger
from tqdm import tqdm

from so101_common.node_runner import run_node
from so101_sim.bridge_node import STATUS_QOS
from so101_sim.evaluation import print_report, summarize, write_report
from so101_sim.ros_conversions import image_array
from so101_sim.video import CaptionedVideo

SERVICE_WAIT_S = 30.0


class EvaluationError(RuntimeError):
    pass


class Evaluator(Node):
    def __init__(self) -> None:
        super().__init__("evaluator")
        self.n_episodes = int(self.declare_parameter("n_episodes", 10).value)
        report = self.declare_parameter("report", "").value
        self.record_video = bool(self.declare_parameter("record_video", False).value)
        video = self.declare_parameter("video_path", "").value
        self.episode_timeout = float(self.declare_parameter("episode_timeout_s", 120.0).value)
        if self.n_episodes < 1:
            raise ValueError(f"parameter n_episodes: expected >= 1, got {self.n_episodes}")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.report_path = Path(report) if report else Path("outputs/eval") / stamp / "report.json"
        self.video_path = Path(video) if video else self.report_path.with_name("episodes.mp4")

        self.sim_reset = self.create_client(Trigger, "sim/reset")
        self.policy_reset = self.create_client(Trigger, "policy/reset")
        self.create_subscription(String, "episode_status", self._on_status, STATUS_QOS)
        self._status: dict | None = None
        self._video: CaptionedVideo | None = None
        self._caption = ""
        if self.record_video:
            self.create_subscription(Image, "video/image_raw", self._on_frame, 50)

    def _on_status(self, msg: String) -> None:
        self._status = json.loads(msg.data)

    def _on_frame(self, msg: Image) -> None:
        if self._video is None:
            self._video = CaptionedVideo(self.video_path, fps=30.0)
        self._video.add(image_array(msg), self._caption)

    def _call(self, client, what: str) -> Trigger.Response:
        if not client.wait_for_service(timeout_sec=SERVICE_WAIT_S):
            raise EvaluationError(f"service {client.srv_name} ({what}) not available after {SERVICE_WAIT_S:.0f} s")
        future: Future = client.call_async(Trigger.Request())
        rclpy.spin_until_future_complete(self, future, timeout_sec=SERVICE_WAIT_S)
        if not future.done() or not future.result().success:
            raise EvaluationError(f"service {client.srv_name} ({what}) failed")
        return future.result()

    def _run_episode(self, index: int) -> dict:
        policy = json.loads(self._call(self.policy_reset, "policy reset").message or "{}")
        started = json.loads(self._call(self.sim_reset, "sim reset").message)
        self._caption = f"episode {index}  seed {started['seed']}"
        deadline = time.monotonic() + self.episode_timeout
        while time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.1)
            s = self._status
            if s and s["episode"] == started["episode"] and s["done"]:
                # Let the last video frames of the episode arrive before the next reset.
                end = time.monotonic() + 0.2
                while self.record_video and time.monotonic() < end:
                    rclpy.spin_once(self, timeout_sec=0.05)
                return {**s, "episode": index, "policy_resets": policy.get("resets"),
                        "wall_time_s": round(self.episode_timeout - (deadline - time.monotonic()), 3)}
        raise EvaluationError(f"episode {index} (seed {started['seed']}) did not finish within "
                              f"{self.episode_timeout:.0f} s: is the policy node running and publishing joint_commands?")

    def run(self) -> int:
        episodes: list[dict] = []
        code = 0
        try:
            for index in tqdm(range(self.n_episodes), desc="eval", unit="ep", file=sys.stderr):
                episodes.append(self._run_episode(index))
        except EvaluationError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            code = 1
        except KeyboardInterrupt:
            code = 130
        finally:
            if self._video is not None:
                self._video.close()
        if not episodes:
            print("no episode finished: no report written", file=sys.stderr, flush=True)
            return code or 1
        report = summarize(episodes, meta={"complete": code == 0, "n_requested": self.n_episodes})
        if self._video is not None:
            report["video"] = str(self._video.path)
        print_report(report)
        write_report(report, self.report_path)
        # print, not the ROS logger: after Ctrl-C the ROS context is already shut down.
        print(f"report: {self.report_path}" + (f"\nvideo: {self._video.path}" if self._video else ""),
              flush=True)
        return code


def main(args: list[str] | None = None) -> None:
    run_node(Evaluator, args, run=lambda node: node.run())


if __name__ == "__main__":
    main()
