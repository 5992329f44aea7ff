"""The humanoid's MuJoCo model driven by an emulated LSC-24 board: what a driver talking to the pty
of a ``PtyBoard`` moves, in real time. ROS-free.

At every physics step each joint's velocity actuator gets the speed its servo turns at: the
channel's pulse now (the emulator's ramps) through the servos' TRUE calibration (their real stop
points, deadbands and speeds, which may differ from the calibration the driver sends with), times
the joint's mounting sign (robot config ``signs``), clipped to the actuator's ctrlrange. A channel
without output (never commanded, or released) does not turn.

The runner (``start`` / ``stop``) keeps the simulated time on the wall clock: it steps when a
physics step is due, catches up in chunks of at most ``CHUNK_STEPS`` (so read-outs are never
locked out long), and when it is more than ``MAX_BEHIND_STEPS`` behind it skips the excess,
counted in ``steps_skipped``: the simulation then runs slower than real time, and says so. Steps of
one catch-up chunk all see the pulses of the moment they are computed.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import mujoco
import numpy as np

from humanoid.hardware.adapter import ChannelMap
from humanoid.paths import data_dir
from lsc24.calibration import Calibration, load_calibration
from lsc24.emulator import Lsc24Emulator
from sim2real_common.config_files import resolve_config
from sim2real_common.robot_config import load_robot_config
from sim2real_sim.cameras import CameraRig, CameraSpec
from sim2real_sim.scenes import load_model

SCENE = "humanoid_walk"
ROBOT_CONFIG = "humanoid.yaml"
HOME_KEY = "home"
CAMERA = "follow"
CHUNK_STEPS = 10  # physics steps per catch-up chunk: one 12.5 Hz control tick (80 ms)
MAX_BEHIND_STEPS = 25  # 0.2 s: further behind than this, the excess is skipped (and counted)
FALL_HEIGHT = 0.6  # fallen: torso below this fraction of its home height ...
FALL_TILT_RAD = math.radians(60)  # ... or tilted further than this from upright


def default_calibration_file() -> Path:
    """The package's calibration, the one the hardware node uses by default."""
    return data_dir("config") / "lsc24_calibration.yaml"


class SimulatedHumanoid:
    """The humanoid in MuJoCo, from its ``home`` keyframe, its servos driven by ``emulator``'s pulses
    through ``true_calibration`` (default: the package's ``config/lsc24_calibration.yaml``).

    Read-outs are thread-safe. ``rgb`` renders with an EGL context bound to the calling thread:
    call it (and ``close``) from one thread only. Usable in ``with`` (``start``, then ``close``).
    """

    def __init__(self, emulator: Lsc24Emulator, *, true_calibration: Calibration | None = None) -> None:
        self.emulator = emulator
        self.true_calibration = (true_calibration if true_calibration is not None
                                 else load_calibration(default_calibration_file()))
        robot_file = resolve_config(ROBOT_CONFIG)
        robot = load_robot_config(robot_file)
        self.joint_names = robot.joint_names
        self.channel_map = ChannelMap.load(robot_file, self.joint_names)
        missing = [f"{name} (channel {channel})" for name, channel in self.channel_map.channels.items()
                   if channel not in self.true_calibration.channels]
        if missing:
            raise ValueError(f"true_calibration: no calibration for {', '.join(missing)}; give every joint's "
                             f"channel a stop point")
        self._channels = [self.channel_map.channels[name] for name in self.joint_names]
        self._signs = np.array([self.channel_map.signs[name] for name in self.joint_names], dtype=float)

        self.model = load_model(SCENE)
        self.data = mujoco.MjData(self.model)
        mujoco.mj_resetDataKeyframe(self.model, self.data, self.model.key(HOME_KEY).id)
        mujoco.mj_forward(self.model, self.data)
        self._actuators = np.array([self.model.actuator(name).id for name in self.joint_names])
        self._ctrl_low, self._ctrl_high = self.model.actuator_ctrlrange[self._actuators].T
        self._qpos = np.array([self.model.jnt_qposadr[self.model.joint(name).id] for name in self.joint_names])
        self._torso = self.model.body(robot.floating_base.body if robot.floating_base else "torso").id
        self.home_torso = tuple(float(v) for v in self.data.xpos[self._torso])
        self._start_time = float(self.data.time)
        self._fell = False
        self._steps = self._skipped = 0

        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._view = mujoco.MjData(self.model)  # a copy of the state to render from, outside the lock
        self._cameras: CameraRig | None = None

    # -- physics -------------------------------------------------------------------------------------
    def step(self, dt: float) -> int:
        """Advance ``dt`` seconds of physics (whole model timesteps, at least one) with the servos'
        speeds now; returns the steps taken. The runner calls it; tests may call it without one."""
        n = max(1, round(dt / self.model.opt.timestep))
        with self._lock:
            for _ in range(n):
                speeds = self.emulator.channel_speeds(self.true_calibration)
                ctrl = self._signs * np.array([speeds[channel] for channel in self._channels])
                self.data.ctrl[self._actuators] = np.clip(ctrl, self._ctrl_low, self._ctrl_high)
                mujoco.mj_step(self.model, self.data)
                self._fell = self._fell or self._fallen_now()
            self._steps += n
        return n

    def _fallen_now(self) -> bool:
        z = self.data.xpos[self._torso][2]
        upright = self.data.xmat[self._torso][8]  # cos(tilt): the torso's z axis against the world's
        return bool(z < FALL_HEIGHT * self.home_torso[2] or upright < math.cos(FALL_TILT_RAD))

    # -- the real-time runner --------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="humanoid physics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the runner; re-raises what made it fail, if anything did."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        failure, self._failure = self._failure, None
        if failure is not None:
            raise RuntimeError(f"the humanoid's physics thread failed: {failure}") from failure

    @property
    def running(self) -> bool:
        """True while the runner steps (False before ``start``, after ``stop`` or once it failed)."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        dt = self.model.opt.timestep
        clock = time.monotonic
        start = clock()
        done = 0  # steps due since start: simulated or skipped
        try:
            while not self._stopping.is_set():
                behind = int((clock() - start) / dt) - done
                if behind <= 0:
                    self._stopping.wait(start + (done + 1) * dt - clock())
                    continue
                if behind > MAX_BEHIND_STEPS:
                    with self._lock:
                        self._skipped += behind - MAX_BEHIND_STEPS
                    done += behind - MAX_BEHIND_STEPS
                    behind = MAX_BEHIND_STEPS
                done += self.step(min(behind, CHUNK_STEPS) * dt)
        except BaseException as err:  # reported by stop(); running turns False meanwhile
            self._failure = err

    def close(self) -> None:
        """``stop`` and release the renderers (from the thread that called ``rgb``)."""
        try:
            self.stop()
        finally:
            if self._cameras is not None:
                self._cameras.close()
                self._cameras = None

    def __enter__(self) -> SimulatedHumanoid:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- read-outs -------------------------------------------------------------------------------------
    @property
    def sim_time(self) -> float:
        """Seconds simulated since ``home``."""
        with self._lock:
            return float(self.data.time) - self._start_time

    @property
    def torso_position(self) -> tuple[float, float, float]:
        """The torso's world position (m); x is forward."""
        with self._lock:
            x, y, z = (float(v) for v in self.data.xpos[self._torso])
        return x, y, z

    @property
    def fell(self) -> bool:
        """True once the torso was below 0.6 x its home height or tilted over 60 deg (stays True)."""
        with self._lock:
            return self._fell

    def joint_positions(self) -> dict[str, float]:
        """Joint name -> position (rad), in robot config order."""
        with self._lock:
            return dict(zip(self.joint_names, (float(v) for v in self.data.qpos[self._qpos])))

    @property
    def steps(self) -> int:
        """Physics steps simulated."""
        with self._lock:
            return self._steps

    @property
    def steps_skipped(self) -> int:
        """Physics steps the runner could not keep up with (simulated time lost to real time)."""
        with self._lock:
            return self._skipped

    def rgb(self, width: int, height: int) -> np.ndarray:
        """The ``follow`` camera now: RGB uint8 (height, width, 3)."""
        with self._lock:
            mujoco.mj_copyData(self._view, self.model, self.data)
        if self._cameras is None:
            self._cameras = CameraRig(self.model)
        return self._cameras.render(self._view, CameraSpec(CAMERA, width=width, height=height))
