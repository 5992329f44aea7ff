"""Policy node: serves any policy through the robot/task contract.

Subscribes to the contract topics the policy needs (joint states, cameras, object poses),
assembles one observation per stamp, runs the policy, clamps the action joint by joint (the
contract's ``action.joints``: limits, and max step per tick from the joint's position in the
latest ``observation.state``, matched by name; see action_clamp.py) and publishes joint commands
named after the action joints. Start-up rejects a policy whose features the contract cannot serve
(names, shapes, image sizes, normalisation stats).

Modes: ``lockstep`` acts once per complete observation stamp (the sim waits for the command);
``realtime`` acts on a timer at ``control_hz``; chunking policies (ACT, diffusion...) then
compute their next chunk in the background so inference never stalls the loop.
Diagnostics (inference latency, loop period, missed ticks, clamped actions) go to /diagnostics.
"""

from __future__ import annotations

import sim2real_common.startup  # noqa: F401  (first: a signal while importing ends quietly)

import json
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import Image, Imu, JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from sim2real_common.contract import FeatureBinding, load_contract
from sim2real_common.features import image_rgb, imu_values, joint_values, pose_values, stamp_ns
from sim2real_common.node_runner import run_node
from sim2real_common.robot_config import load_robot_config
from sim2real_policy.action_clamp import ActionClamp
from sim2real_policy.interface import ChunkingPolicy, Policy
from sim2real_policy.loaders import load_policy
from sim2real_policy.observation import ObservationAssembler
from sim2real_policy.scheduler import AsyncChunkScheduler
from sim2real_policy.timing import TimingWindow

MODES = ("lockstep", "realtime")
STATE = "observation.state"


class PolicyNode(Node):
    def __init__(self) -> None:
        super().__init__("policy")
        self.scheduler: AsyncChunkScheduler | None = None  # first: destroy_node of a half-built node reads it
        spec = self.declare_parameter("policy", "expert").value
        contract = self.declare_parameter("contract", "").value
        scene = self.declare_parameter("scene", "").value  # policy:=expert: the expert of this scene's task
        robot_config = self.declare_parameter("robot_config", "").value
        self.mode = self.declare_parameter("mode", "lockstep").value
        control_hz = float(self.declare_parameter("control_hz", 0.0).value)  # 0: the robot config's
        if self.mode not in MODES:
            raise ValueError(f"parameter mode: expected one of {MODES}, got {self.mode!r}")
        if not contract:
            raise ValueError("parameter contract: required (a contract of a robot package, e.g. so101_pick_place)")
        self.contract = load_contract(contract)
        self.robot = load_robot_config(robot_config or self.contract.robot)
        control_hz = control_hz or self.robot.control_hz
        self.policy = self._load_policy(spec, scene)
        inputs = {f.name: tuple(f.shape) for f in self.policy.input_features}
        outputs = {f.name: tuple(f.shape) for f in self.policy.output_features}
        self.contract.check_policy(inputs, outputs, getattr(self.policy, "normalization_stats_present", None))
        self.action = self.contract.features["action"]
        state = self.contract.features.get(STATE)
        self.clamp = ActionClamp.for_joints(self.robot, self.action.joints, state.joints if state else ())
        self.assembler = ObservationAssembler(list(inputs))
        self.timing = TimingWindow()
        self.clamped = 0
        self.resets = 0
        self._poses: dict[int, dict] = {}
        self._last_stamp: int | None = None
        self._last_command: JointState | None = None
        self._newest_stamp = -1  # a reset discards everything up to the newest stamp seen
        self._stale_until = -1
        self._published_chunk = None
        if self.mode == "realtime" and isinstance(self.policy, ChunkingPolicy):
            self.scheduler = AsyncChunkScheduler(self.policy, period_s=1.0 / control_hz)

        for name in inputs:
            self._subscribe(self.contract.features[name])
        if state is not None and STATE not in inputs:
            self._subscribe(state)  # not an input of the policy, but the clamp's current positions
        self.command_pub = self.create_publisher(JointState, self.action.topic, 10)
        self.chunk_pub = self.create_publisher(JointTrajectory, "policy/action_chunk", 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_timer(1.0, self._publish_diagnostics)
        if self.mode == "realtime":
            self.create_timer(1.0 / control_hz, self._on_timer)
        self.get_logger().info(f"policy {spec!r} in {self.mode} mode through contract "
                               f"{self.contract.path.name}, inputs {list(inputs)}")
        for name in inputs:
            if self.contract.features[name].estimated:
                self.get_logger().info(f"{name}: {list(self.contract.features[name].estimated)} are estimates "
                                       f"(no position feedback on this robot)")

    def _load_policy(self, spec: str, scene: str) -> Policy:
        if spec == "expert":
            return load_policy(spec, scene=scene)
        if spec.startswith("openpi://"):
            from sim2real_policy.openpi_client_policy import options_from_contract

            return load_policy(spec, **options_from_contract(self.contract))
        return load_policy(spec)

    # -- inputs ------------------------------------------------------------------------------
    def _subscribe(self, binding: FeatureBinding) -> None:
        if binding.type == "sensor_msgs/msg/JointState":
            self.create_subscription(JointState, binding.topic,
                                     lambda m, b=binding: self._offer(b.name, stamp_ns(m), joint_values(b, m)), 10)
        elif binding.type == "sensor_msgs/msg/Image":
            self.create_subscription(Image, binding.topic,
                                     lambda m, b=binding: self._offer(b.name, stamp_ns(m), image_rgb(b, m)), 10)
        elif binding.type == "sensor_msgs/msg/Imu":
            self.create_subscription(Imu, binding.topic,
                                     lambda m, b=binding: self._offer(b.name, stamp_ns(m), imu_values(b, m)), 10)
        else:
            for obj, topic in binding.topics.items():
                self.create_subscription(PoseStamped, topic,
                                         lambda m, b=binding, o=obj: self._on_pose(b, o, m), 10)

    def _on_pose(self, binding: FeatureBinding, obj: str, msg: PoseStamped) -> None:
        stamp = stamp_ns(msg)
        poses = self._poses.setdefault(stamp, {})
        poses[obj] = msg
        if set(poses) == set(binding.topics):
            del self._poses[stamp]
            self._offer(binding.name, stamp, pose_values(binding, poses))
        for old in [s for s in self._poses if s < stamp]:
            del self._poses[old]

    def _offer(self, feature: str, stamp: int, value: np.ndarray) -> None:
        if stamp <= self._stale_until:
            return  # a message of the previous episode arriving after our reset
        self._newest_stamp = max(self._newest_stamp, stamp)
        observation = self.assembler.add(feature, stamp, value)
        if observation is None or self.mode != "lockstep":
            return
        if stamp == self._last_stamp:
            # The sim re-sent an observation we already answered: our command may be lost.
            if self._last_command is not None:
                self.command_pub.publish(self._last_command)
            return
        start = time.perf_counter()
        action = self.policy.select_action(observation)
        self.timing.latencies.append(time.perf_counter() - start)
        self._publish_chunk_if_new(stamp)
        self._command(observation, action, stamp)

    # -- acting ------------------------------------------------------------------------------
    def _on_timer(self) -> None:
        obs = self.assembler.latest
        if not all(k in obs for k in self.assembler.required):
            return
        stamp = self.assembler.latest_stamp or 0
        if self.scheduler is None:
            start = time.perf_counter()
            action = self.policy.select_action(obs)
            self.timing.latencies.append(time.perf_counter() - start)
        else:
            action = self.scheduler.tick(obs)
            self.timing.latencies.extend(self.scheduler.stats.latencies_s)
            self.scheduler.stats.latencies_s.clear()
            self._publish_chunk_if_new(stamp)
            if action is None:
                return  # inference still running: hold the last command
        self._command(obs, action, stamp)

    def _command(self, observation: dict, action: np.ndarray, stamp: int) -> None:
        self.timing.tick(time.perf_counter())
        raw = np.asarray(action, dtype=float)
        target = self.clamp(raw, observation.get(STATE, self.assembler.latest.get(STATE)))
        self.clamped += int(not np.allclose(target, raw))
        msg = JointState()
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
        msg.name = list(self.action.joints)
        setattr(msg, self.robot.command, target.tolist())  # position targets, or speeds
        self.command_pub.publish(msg)
        self._last_stamp, self._last_command = stamp, msg

    def _publish_chunk_if_new(self, stamp: int) -> None:
        chunk = self.scheduler.last_chunk if self.scheduler else getattr(self.policy, "last_chunk", None)
        if chunk is None or chunk is self._published_chunk:
            return
        self._published_chunk = chunk
        msg = JointTrajectory()
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
        msg.joint_names = list(self.action.joints)
        period = 1.0 / self.contract.fps
        for i, row in enumerate(np.asarray(chunk, dtype=float)):
            point = JointTrajectoryPoint(positions=row.tolist())
            point.time_from_start.sec, point.time_from_start.nanosec = divmod(int((i + 1) * period * 1e9), 1_000_000_000)
            msg.points.append(point)
        self.chunk_pub.publish(msg)

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self.scheduler is not None:
            self.scheduler.reset()
        else:
            self.policy.reset()
        self.resets += 1
        self.assembler.clear()
        self._poses.clear()
        self.timing.restart()
        self._last_stamp = self._last_command = None
        self._stale_until = self._newest_stamp
        response.success = True
        response.message = json.dumps({"resets": self.resets})
        return response

    def _publish_diagnostics(self) -> None:
        values = {**self.timing.summary(), "clamped_actions": self.clamped, "resets": self.resets}
        if self.scheduler is not None:
            values.update(missed_ticks=self.scheduler.stats.missed, startup_ticks=self.scheduler.stats.startup)
        status = DiagnosticStatus(level=DiagnosticStatus.OK, name=f"{self.get_namespace().strip('/')}/policy",
                                  message=f"{self.mode}", hardware_id=self.robot.robot_type)
        status.values = [KeyValue(key=k, value=f"{v:.3f}" if isinstance(v, float) else str(v)) for k, v in values.items()]
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)

    def destroy_node(self) -> None:
        try:
            if self.scheduler is not None:
                self.scheduler.close()
        finally:
            super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(PolicyNode, args)


if __name__ == "__main__":
    main()
