"""Policy node: assembles observations from joint states, object poses and cameras, runs the
policy, clamps the action to the robot's limits and max step, publishes joint commands.

Modes: ``lockstep`` acts once per complete observation stamp (the sim waits for the command);
``realtime`` acts on a timer at ``control_hz`` with the latest complete observation.
"""

from __future__ import annotations

import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import Trigger

from so101_common.robot_config import load_robot_config
from so101_policy.loaders import load_policy
from so101_policy.observation import ENV_STATE_OBJECTS, ObservationAssembler, environment_state
from so101_sim.ros_conversions import image_array, pose_array

MODES = ("lockstep", "realtime")
IMAGE_PREFIX = "observation.images."


def _stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


class PolicyNode(Node):
    def __init__(self) -> None:
        super().__init__("policy")
        spec = self.declare_parameter("policy", "expert").value
        robot_config = self.declare_parameter("robot_config", "").value
        self.mode = self.declare_parameter("mode", "lockstep").value
        control_hz = float(self.declare_parameter("control_hz", 30.0).value)
        if self.mode not in MODES:
            raise ValueError(f"parameter mode: expected one of {MODES}, got {self.mode!r}")
        self.robot = load_robot_config(robot_config or "so101.yaml")
        self.policy = load_policy(spec)
        required = [f.name for f in self.policy.input_features]
        self.assembler = ObservationAssembler(required)
        self._poses: dict[int, dict] = {}
        self._last_stamp: int | None = None
        self._last_command: JointState | None = None
        self._newest_stamp = -1  # newest stamp seen; a reset discards everything up to it
        self._stale_until = -1

        self.command_pub = self.create_publisher(JointState, "joint_commands", 10)
        self.create_subscription(JointState, "joint_states", self._on_joint_states, 10)
        if "observation.environment_state" in required:
            for name in ENV_STATE_OBJECTS:
                self.create_subscription(PoseStamped, f"objects/{name}/pose",
                                         lambda msg, n=name: self._on_pose(n, msg), 10)
        for feature in required:
            if feature.startswith(IMAGE_PREFIX):
                camera = feature[len(IMAGE_PREFIX):]
                self.create_subscription(Image, f"{camera}/image_raw",
                                         lambda msg, f=feature: self._on_image(f, msg), 10)
        self.create_service(Trigger, "~/reset", self._on_reset)
        if self.mode == "realtime":
            self.create_timer(1.0 / control_hz, self._on_timer)
        self.get_logger().info(f"policy {spec!r} in {self.mode} mode, inputs {required}")

    # -- inputs ------------------------------------------------------------------------------
    def _on_joint_states(self, msg: JointState) -> None:
        by_name = dict(zip(msg.name, msg.position))
        try:
            state = np.array([by_name[n] for n in self.robot.joint_names])
        except KeyError as err:
            self.get_logger().error(f"joint_states lacks joint {err}; expected {self.robot.joint_names}")
            return
        self._offer("observation.state", _stamp_ns(msg), state)

    def _on_pose(self, name: str, msg: PoseStamped) -> None:
        stamp = _stamp_ns(msg)
        poses = self._poses.setdefault(stamp, {})
        poses[name] = pose_array(msg)
        if all(n in poses for n in ENV_STATE_OBJECTS):
            del self._poses[stamp]
            self._offer("observation.environment_state", stamp, environment_state(poses))
        for old in [s for s in self._poses if s < stamp]:
            del self._poses[old]

    def _on_image(self, feature: str, msg: Image) -> None:
        self._offer(feature, _stamp_ns(msg), image_array(msg))

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
        self._act(observation, stamp)

    # -- acting ------------------------------------------------------------------------------
    def _on_timer(self) -> None:
        obs = self.assembler.latest
        if all(k in obs for k in self.assembler.required):
            self._act(obs, self.assembler.latest_stamp or 0)

    def _act(self, observation: dict, stamp: int) -> None:
        action = np.asarray(self.policy.select_action(observation), dtype=float)
        action = self.robot.clamp(action, current=observation["observation.state"])
        msg = JointState()
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
        msg.name = list(self.robot.joint_names)
        msg.position = action.tolist()
        self.command_pub.publish(msg)
        self._last_stamp, self._last_command = stamp, msg

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.policy.reset()
        self.assembler.clear()
        self._poses.clear()
        self._last_stamp = self._last_command = None
        self._stale_until = self._newest_stamp
        response.success = True
        response.message = "policy reset"
        return response


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = None
    try:
        node = PolicyNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
