"""Observation, reward and fall of the walking env as functions over a batch of envs (leading
axis n_envs), so the single env (gym_env.py) and the batched VecEnv compute them identically.
Indices into qpos/qvel/sensordata come from the compiled model (``WalkLayout``)."""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from humanoid.walk.walk_config import FallConfig, RewardConfig

TORSO_JOINT = "root"
FOOT_TOUCH = ("left_foot_touch", "right_foot_touch")  # MJCF touch sensors under the soles
TOUCH_THRESHOLD = 1e-3  # N


@dataclass(frozen=True)
class WalkLayout:
    joint_qpos: np.ndarray  # qpos index of each actuated joint, in actuator (= robot config) order
    joint_qvel: np.ndarray
    base_qpos: int  # free joint: x y z, then quaternion w x y z
    base_qvel: int  # free joint: linear velocity (world), then angular velocity (local)
    touch: np.ndarray  # sensordata index of each foot's touch sensor (left, right)
    imu: np.ndarray  # sensordata indices of the IMU readings, concatenated (empty: the robot has no IMU)

    @classmethod
    def of(cls, model: mujoco.MjModel, imu_sensors: tuple[str, ...]) -> WalkLayout:
        """``imu_sensors``: the MJCF sensors of the readings the robot config's IMU declares."""
        joints = [model.actuator(i).trnid[0] for i in range(model.nu)]
        root = model.joint(TORSO_JOINT)

        def sensor_indices(name: str) -> list[int]:
            sensor = model.sensor(name)
            return list(range(sensor.adr[0], sensor.adr[0] + sensor.dim[0]))

        return cls(joint_qpos=model.jnt_qposadr[joints].copy(), joint_qvel=model.jnt_dofadr[joints].copy(),
                   base_qpos=int(root.qposadr[0]), base_qvel=int(root.dofadr[0]),
                   touch=np.array([sensor_indices(n)[0] for n in FOOT_TOUCH]),
                   imu=np.array([i for n in imu_sensors for i in sensor_indices(n)], dtype=int))


def foot_contacts(layout: WalkLayout, sensordata: np.ndarray) -> np.ndarray:
    """(n, 2) bool: left, right foot on the ground."""
    return sensordata[:, layout.touch] > TOUCH_THRESHOLD


def stance_switches(contacts: np.ndarray, stance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Did the single foot on the ground change? ``stance``: the last single stance foot per env
    (0 left, 1 right, -1 none yet); returns (switched, updated stance)."""
    single = contacts.sum(axis=1) == 1
    now = np.where(single, np.argmax(contacts, axis=1), -1)
    switched = single & (stance >= 0) & (now != stance)
    return switched, np.where(single, now, stance)


def gait_clock(ticks: np.ndarray, period: float, hz: float) -> np.ndarray:
    phase = 2 * np.pi * hz * np.asarray(ticks) * period
    return np.stack([np.sin(phase), np.cos(phase)], axis=1)


@dataclass(frozen=True)
class Tick:
    """What one control tick leaves for the reward, per env (leading axis n_envs)."""

    contacts: np.ndarray  # (n, 2) left, right foot down
    switched: np.ndarray  # (n,) the single stance foot changed
    clock: np.ndarray  # (n, 2) gait clock sin, cos at this tick
    action: np.ndarray  # (n, driven) this tick's action, in [-1, 1]
    last_action: np.ndarray  # (n, driven) the one before
    home: np.ndarray  # (joints,) home pose


def reward_terms(cfg: RewardConfig, layout: WalkLayout, qpos: np.ndarray, qvel: np.ndarray,
                 tick: Tick) -> dict[str, np.ndarray]:
    w = qpos[:, layout.base_qpos + 3]
    vx = qvel[:, layout.base_qvel]
    z = qpos[:, layout.base_qpos + 2]
    contacts, switched = tick.contacts, tick.switched
    stance = (tick.clock[:, 0] >= 0).astype(int)  # first half of the cycle: right foot down, left swings
    rows = np.arange(len(stance))
    in_phase = contacts[rows, stance] & ~contacts[rows, 1 - stance]
    return {
        "upright": cfg.upright * w**2,
        "forward_velocity": cfg.forward_velocity * np.clip(vx, 0.0, cfg.max_forward_velocity),
        "height": cfg.height * np.clip(1.0 - np.abs(z - cfg.target_height), 0.0, 1.0),
        "foot_switch": cfg.foot_switch * switched,
        "ground_contact": cfg.ground_contact * contacts.any(axis=1),
        "forward_tracking": cfg.forward_tracking * np.exp(-(((vx - cfg.target_velocity) / cfg.tracking_sigma) ** 2)),
        "feet_phase": cfg.feet_phase * in_phase,
        "pose": -cfg.pose * np.mean((qpos[:, layout.joint_qpos] - tick.home) ** 2, axis=1),
        "action_rate": -cfg.action_rate * np.mean((tick.action - tick.last_action) ** 2, axis=1),
    }


def fallen(cfg: FallConfig, layout: WalkLayout, qpos: np.ndarray, home_height: float) -> np.ndarray:
    quat = qpos[:, layout.base_qpos + 3: layout.base_qpos + 7]
    up_z = 1.0 - 2.0 * (quat[:, 1] ** 2 + quat[:, 2] ** 2)  # z of the torso's z-axis
    low = qpos[:, layout.base_qpos + 2] < cfg.height_fraction * home_height
    return low | (up_z < np.cos(np.deg2rad(cfg.tilt_deg)))


def notebook_observation(layout: WalkLayout, qpos: np.ndarray, qvel: np.ndarray, contacts: np.ndarray,
                         clock: np.ndarray) -> np.ndarray:
    """Joint positions and velocities, torso quaternion, linear and angular velocity, foot
    contacts, gait clock: 48 values for 17 joints (privileged: the real robot measures none of
    the first three)."""
    b, v = layout.base_qpos, layout.base_qvel
    return np.concatenate([qpos[:, layout.joint_qpos], qvel[:, layout.joint_qvel], qpos[:, b + 3: b + 7],
                           qvel[:, v: v + 6], contacts.astype(float), clock], axis=1)


def deployable_observation(layout: WalkLayout, sensordata: np.ndarray, estimate: np.ndarray,
                           last_action: np.ndarray, clock: np.ndarray) -> np.ndarray:
    """What the robot provides: joint positions estimated from the commanded speeds, the last
    action, the gait clock, the IMU readings."""
    return np.concatenate([estimate, last_action, clock, sensordata[:, layout.imu]], axis=1)
