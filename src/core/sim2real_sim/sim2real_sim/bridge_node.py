"""ROS 2 bridge around the sim core: what the robot config declares goes out (joint states,
cameras, object poses, for a floating-base robot its base pose on ``base/pose`` and its IMU on
``imu``) with /clock; joint commands come in (positions or velocities, as the robot config's
``command`` says); reset and episode-status services. Joints whose hardware reads nothing back
(robot config ``feedback: false``) are published as the real robot's node publishes them: estimated
from the commands (sim2real_common.joint_estimate); their true state goes to
``ground_truth/joint_states``.

Modes:
- ``lockstep``: the sim advances exactly one control period per command that answers the
  current observation, then publishes the new observation (deterministic evaluation; the policy
  sets the pace). A command answers the observation whose stamp it carries (unstamped commands,
  as from a manual publisher, answer the current one); a command for any other stamp (one
  that crossed a reset, or a second answer to a re-sent observation) is dropped, so the
  episode is a pure function of its seed and the policy;
- ``realtime``: a wall-clock timer steps the sim at ``control_hz`` holding the latest command.

With ``whiskers`` on, each action chunk the policy publishes on ``policy/action_chunk`` is
forward-simulated from the current state on a copy of it (see whiskers.py): the predicted gripper
path goes out on ``whiskers/path`` and is drawn, with the actual path, into ``video/image_raw``.
"""

from __future__ import annotations

import sim2real_common.startup  # noqa: F401  (first: a signal while importing ends quietly)

import json
import time

import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, Imu, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from sim2real_common.joint_estimate import JointEstimate
from sim2real_common.node_runner import run_node
from sim2real_common.qos import STATUS_QOS
from sim2real_common.registry import scene as registered_scene
from sim2real_common.robot_config import load_robot_config
from sim2real_sim.cameras import CameraSpec
from sim2real_common.ros_conversions import camera_info_msg, image_msg, imu_msg, pose_msg, stamp_from_seconds
from sim2real_sim.sim import Sim, SimConfig
from sim2real_sim.robot_checks import check_floating_base, check_imu
from sim2real_sim.whiskers import WhiskerHistory, camera_projection, draw_paths, predict_path

MODES = ("lockstep", "realtime")
LOCKSTEP_REPUBLISH_S = 1.0  # re-send the unchanged observation if no command came (discovery races)


class SimBridge(Node):
    def __init__(self) -> None:
        super().__init__("sim")
        p = self._declare_parameters()
        self.robot = load_robot_config(p["robot_config"] or registered_scene(p["scene"])[0].robot_config)
        self.policy_cameras = [CameraSpec(n, p["image_width"], p["image_height"]) for n in p["cameras"]]
        self.video = None
        if p["publish_video"]:
            self.video = CameraSpec(p["video_camera"], p["video_width"], p["video_height"])
        cameras = self.policy_cameras + ([self.video] if self.video else [])
        if p["max_steps"] < 1:
            raise ValueError(f"parameter max_steps: expected >= 1, got {p['max_steps']}")
        control_hz = p["control_hz"] or self.robot.control_hz  # 0: the robot config's
        self.sim = Sim(SimConfig(scene=p["scene"], control_hz=control_hz, max_steps=p["max_steps"]))
        for camera in cameras:
            self.sim.cameras.check(camera)
        missing = set(self.robot.joint_names) ^ set(self.sim.joint_names)
        if missing:
            raise ValueError(f"robot config joints {self.robot.joint_names} do not match scene "
                             f"{p['scene']!r} actuators {self.sim.joint_names}")
        self._order = [self.sim.joint_names.index(n) for n in self.robot.joint_names]
        if self.robot.floating_base is not None:
            check_floating_base(self.sim.model, self.robot.floating_base)
        if self.robot.imu is not None:
            check_imu(self.sim.model, self.robot.imu)
        self.mode, self.seed = p["mode"], p["seed"]
        self._resets = 0
        self._stepping = False  # True between a reset and the end of the episode
        self._last_command = time.monotonic()
        self._observation_stamp = (0, 0)  # (sec, nanosec) of the newest published observation

        self.joint_pub = self.create_publisher(JointState, "joint_states", 10)
        self.estimate = JointEstimate(self.robot, self.robot.estimated_joints) if self.robot.estimated_joints else None
        self.truth_pub = self.create_publisher(JointState, "ground_truth/joint_states", 10) if self.estimate else None
        self.clock_pub = self.create_publisher(Clock, "/clock", 10)
        self.status_pub = self.create_publisher(String, "episode_status", STATUS_QOS)
        self.image_pubs = {c.name: self.create_publisher(Image, f"{c.name}/image_raw", 10)
                           for c in self.policy_cameras}
        self.info_pubs = {c.name: self.create_publisher(CameraInfo, f"{c.name}/camera_info", 10)
                          for c in self.policy_cameras}
        self.video_pub = self.create_publisher(Image, "video/image_raw", 10) if self.video else None
        self.pose_pubs = {name: self.create_publisher(PoseStamped, f"objects/{name}/pose", 10)
                          for name in self.sim.task.objects}
        self.base_pub = (self.create_publisher(PoseStamped, "base/pose", 10)
                         if self.robot.floating_base is not None else None)
        self.imu_pub = self.create_publisher(Imu, "imu", 10) if self.robot.imu is not None else None
        self.create_subscription(JointState, "joint_commands", self._on_command, 10)
        self.whiskers = WhiskerHistory() if p["whiskers"] else None
        if self.whiskers is not None:
            if not self.robot.tool_site:
                raise ValueError("parameter whiskers: the robot config names no tool_site (the MJCF site "
                                 "whose predicted path the whiskers draw)")
            self._grasp = self.sim.model.site(self.robot.tool_site).id
            self.path_pub = self.create_publisher(Path, "whiskers/path", 10)
            self.create_subscription(JointTrajectory, "policy/action_chunk", self._on_action_chunk, 10)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_service(Trigger, "~/episode_status", self._on_status)
        period = self.sim.control_period
        if self.mode == "realtime":
            self.create_timer(period, self._on_tick)
        else:
            self.create_timer(LOCKSTEP_REPUBLISH_S, self._on_idle)
        self.get_logger().info(
            f"scene {p['scene']} in {self.mode} mode at {1 / period:.1f} Hz, cameras "
            f"{[c.name for c in self.policy_cameras]} {p['image_width']}x{p['image_height']}"
            + (f", video {self.video.name} {self.video.width}x{self.video.height}" if self.video else ""))

    def _declare_parameters(self) -> dict:
        defaults = {
            "scene": "", "robot_config": "", "mode": "lockstep", "control_hz": 0.0,
            "seed": 0, "max_steps": 300, "cameras": [""], "image_width": 128, "image_height": 96,
            "publish_video": False, "video_camera": "", "video_width": 640, "video_height": 480,
            "whiskers": False,
        }
        values = {k: self.declare_parameter(k, v).value for k, v in defaults.items()}
        if not values["scene"]:
            raise ValueError("parameter scene: required (a registered scene, e.g. so101_pick_place)")
        values["cameras"] = [c for c in values["cameras"] if c]  # [""]: no cameras (a typed empty list)
        if values["publish_video"] and not values["video_camera"]:
            raise ValueError("parameter video_camera: required with publish_video")
        if values["mode"] not in MODES:
            raise ValueError(f"parameter mode: expected one of {MODES}, got {values['mode']!r}")
        return values

    # -- callbacks ----------------------------------------------------------------------------
    def _on_command(self, msg: JointState) -> None:
        if self.mode == "lockstep" and not self._answers_current_observation(msg):
            return
        self._last_command = time.monotonic()
        targets = self.sim.commanded
        commanded = {name: value for name, value in zip(msg.name, getattr(msg, self.robot.command))
                     if name in self.sim.joint_names}
        for name, value in commanded.items():
            targets[self.sim.joint_names.index(name)] = value
        self.sim.set_targets(targets)
        if self.estimate is not None:
            self.estimate.command(commanded, self.sim.time)
        if self.mode == "lockstep":
            self._advance()

    def _answers_current_observation(self, msg: JointState) -> bool:
        """Lockstep: a command for the newest observation of a running episode (stamped with
        its stamp, or unstamped); after it the sim has moved on, so a repeat no longer matches."""
        stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        return self._stepping and stamp in (self._observation_stamp, (0, 0))

    def _on_action_chunk(self, msg: JointTrajectory) -> None:
        """Forward-simulate the chunk; joints it does not name hold their current targets."""
        if not msg.points:
            return
        if any(len(point.positions) != len(msg.joint_names) for point in msg.points):
            self.get_logger().error(f"policy/action_chunk: every point needs {len(msg.joint_names)} "
                                    f"positions, one per joint name {list(msg.joint_names)}")
            return
        chunk = np.tile(self.sim.commanded, (len(msg.points), 1))
        for column, name in enumerate(msg.joint_names):
            if name in self.sim.joint_names:
                chunk[:, self.sim.joint_names.index(name)] = [point.positions[column] for point in msg.points]
        path = predict_path(self.sim.model, self.sim.data, chunk, self.sim.substeps, self.robot.tool_site)
        self.whiskers.add_prediction(np.vstack([self.sim.data.site_xpos[self._grasp], path]))
        self.path_pub.publish(self._path_msg(path))

    def _path_msg(self, points: np.ndarray) -> Path:
        """Poses stamped with the sim time each chunk step would reach; orientation unset (identity)."""
        now, period = self.sim.time, self.sim.control_period
        msg = Path()
        msg.header.stamp = stamp_from_seconds(now)
        msg.header.frame_id = "world"
        identity = np.array([1.0, 0.0, 0.0, 0.0])
        msg.poses = [pose_msg(point, identity, stamp_from_seconds(now + (i + 1) * period))
                     for i, point in enumerate(points)]
        return msg

    def _on_tick(self) -> None:
        if self._stepping:
            self._advance()

    def _on_idle(self) -> None:
        if self._stepping and time.monotonic() - self._last_command > LOCKSTEP_REPUBLISH_S:
            self._publish_observation()

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        seed = self.seed + self._resets
        self._resets += 1
        status = self.sim.reset(seed)
        if self.estimate is not None:
            self.estimate.reset(self.sim.time)  # the robot put at home (the sim's own pose has the seed's noise)
        if self.whiskers is not None:
            self.whiskers.clear()
            self.whiskers.add_position(self.sim.data.site_xpos[self._grasp])
        self._stepping = True
        self._last_command = time.monotonic()
        self._publish_status()
        self._publish_observation()
        response.success = True
        response.message = json.dumps({"episode": status.episode, "seed": seed})
        return response

    def _on_status(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success = True
        response.message = json.dumps(self.sim.status.to_dict())
        return response

    # -- stepping and publishing --------------------------------------------------------------
    def _advance(self) -> None:
        status = self.sim.step()
        if self.whiskers is not None:
            self.whiskers.add_position(self.sim.data.site_xpos[self._grasp])
        self._publish_observation()
        if status.done:
            self._stepping = False
            self._publish_status()
            self.get_logger().info(f"episode {status.episode} (seed {status.seed}): "
                                   f"{status.to_dict()['outcome']} after {status.steps} steps")

    def _publish_status(self) -> None:
        """The monitor's status and ``stamp_ns``, the stamp of the observation it describes."""
        stamp = stamp_from_seconds(self.sim.time)
        status = {**self.sim.status.to_dict(), "stamp_ns": stamp.sec * 1_000_000_000 + stamp.nanosec}
        self.status_pub.publish(String(data=json.dumps(status)))

    def _publish_observation(self) -> None:
        stamp = stamp_from_seconds(self.sim.time)
        self._observation_stamp = (stamp.sec, stamp.nanosec)
        self.clock_pub.publish(Clock(clock=stamp))
        for cam in self.policy_cameras:
            frame = self.robot.camera_frames.get(cam.name, cam.name)
            self.image_pubs[cam.name].publish(image_msg(self.sim.cameras.render(self.sim.data, cam), stamp, frame))
            fovy = float(self.sim.model.camera(cam.name).fovy[0])
            self.info_pubs[cam.name].publish(camera_info_msg(cam.width, cam.height, fovy, stamp, frame))
        if self.video_pub is not None:
            frame = self.robot.camera_frames.get(self.video.name, self.video.name)
            rgb = self.sim.cameras.render(self.sim.data, self.video)
            if self.whiskers is not None:
                projection = camera_projection(self.sim.model, self.sim.data, self.video.name,
                                               self.video.width, self.video.height)
                rgb = draw_paths(rgb, self.whiskers.paths(), projection)
            self.video_pub.publish(image_msg(rgb, stamp, frame))
        for name, (pos, quat) in self.sim.object_poses().items():
            self.pose_pubs[name].publish(pose_msg(pos, quat, stamp))
        if self.base_pub is not None:
            pos, quat = self.sim.body_pose(self.robot.floating_base.body)
            self.base_pub.publish(pose_msg(pos, quat, stamp))  # in the world frame
        if self.imu_pub is not None:
            readings = {name: self.sim.sensor(sensor) for name, sensor in self.robot.imu.sensors().items()}
            self.imu_pub.publish(imu_msg(readings, stamp, self.robot.imu.frame_id))
        # Joint states last: a lockstep policy acts once the state of a new stamp arrives.
        truth = self._joint_state_msg(stamp)
        if self.estimate is None:
            self.joint_pub.publish(truth)
            return
        self.truth_pub.publish(truth)
        estimated = self.estimate.positions(self.sim.time)
        measured = dict(zip(truth.name, truth.position))
        self.joint_pub.publish(JointState(header=truth.header, name=truth.name,
                                          position=[estimated.get(n, measured[n]) for n in truth.name]))

    def _joint_state_msg(self, stamp) -> JointState:
        js = JointState()
        js.header.stamp = stamp
        js.name = list(self.robot.joint_names)
        js.position = self.sim.joint_positions()[self._order].tolist()
        js.velocity = self.sim.joint_velocities()[self._order].tolist()
        js.effort = self.sim.joint_efforts()[self._order].tolist()
        return js

    def destroy_node(self) -> None:
        self.sim.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(SimBridge, args)


if __name__ == "__main__":
    main()
