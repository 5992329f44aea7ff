"""Follower faults while recording real episodes, end to end without hardware.

`sim2real launch so101 record_real.launch.py` runs follower + leader (each on an emulated Feetech bus served
from this process, so faults can be injected into the follower's), two synthetic cameras and the
recorder, whose episodes end only by recorder/save|discard (``episode_time_s:=0``). A clean
episode is saved first; then one episode per emulator fault on the follower's bus (no reply,
bad checksum, missing id, overload and input-voltage error bits, the bus disappearing). Each time:

- the follower reports the fault on /diagnostics (``so101/follower: ...``) and stays up;
- the arm is left safe as arm_control.py's table specifies (Torque_Enable / Goal_Position of the
  emulated servos): no new goals, the overloaded joint released, the others holding;
- the episode is saved while the fault is still on: it saves if the follower kept publishing
  complete joint states (error bits), else the recorder refuses the save naming the stream
  (``observation.state`` silent longer than gap_threshold_s) and discards the episode itself;
- the fault is cleared, the follower follows again, and every episode saved so far is still in
  the dataset and loads with plain LeRobot.

At the end recorder/stop finalizes the dataset, the graph ends, the follower's torque goes off, and
LeRobot opens one episode per successful save, frames decoding.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from std_srvs.srv import SetBool, Trigger

from conftest import WORKSPACE
from integration.emulated_arms import IDS, calibration_files, swept_leader_bus
from sim2real_common.qos import STATUS_QOS
from sim2real_common.ros_testing import stop_node
from sim2real_common.robot_config import load_robot_config
from feetech.emulator import FeetechBusEmulator, PtyBus
from feetech.protocol import ErrorBit

REPO = "local/so101_real_faults"
CAMERAS = ("observation.images.overhead_cam", "observation.images.wrist_cam")
CAMERA_TOPICS = ("/so101/overhead_cam/image_raw", "/so101/wrist_cam/image_raw")
JOINTS = load_robot_config("so101.yaml").joint_names
GAP_THRESHOLD_S = 0.5  # config/so101_recorder.yaml
FAULT_S = 1.5  # each fault lasts (at least) this long, well over the gap threshold, before the save
CLEAN_FRAMES = 15  # frames recorded before the fault goes in
OK, ERROR = DiagnosticStatus.OK, DiagnosticStatus.ERROR
TIMEOUT_S = 30.0  # generous: a loaded 2-core machine
# A refused save: "episode <n> not saved, discarded: episode refused: <k> gap(s) ... \n  - <stream>: ..."
GAP_LINE = re.compile(r"^  - (.+?): nothing new for ([\d.]+) s from t=(-?[\d.]+) s", re.MULTILINE)


class Operator(Node):
    """What the operator sees and presses: recorder services and status, the follower's
    /diagnostics, joint_states and its ~/torque service; spun in a background thread."""

    def __init__(self) -> None:
        super().__init__("operator", namespace="so101")
        self.statuses: list[dict] = []
        self.follower: dict[str, DiagnosticStatus] = {}  # latest status per name (prefix removed)
        self.states: list[JointState] = []
        self.create_subscription(String, "recorder/status", lambda m: self.statuses.append(json.loads(m.data)),
                                 STATUS_QOS)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        self.create_subscription(JointState, "joint_states", self.states.append, 50)
        self.recorder = {name: self.create_client(Trigger, f"recorder/{name}")
                         for name in ("start", "save", "discard", "stop")}
        self.torque = self.create_client(SetBool, "follower/torque")
        self.executor_ = SingleThreadedExecutor()
        self.executor_.add_node(self)
        self._thread = threading.Thread(target=self.executor_.spin, daemon=True)
        self._thread.start()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith("so101/follower: "):
                self.follower[status.name.removeprefix("so101/follower: ")] = status

    def _call(self, client, request, timeout: float = TIMEOUT_S):
        assert client.wait_for_service(timeout_sec=timeout), f"{client.srv_name} not available"
        future = client.call_async(request)
        assert wait_for(future.done, timeout), f"{client.srv_name}: no reply in {timeout:g} s"
        return future.result()

    def call(self, service: str) -> Trigger.Response:
        return self._call(self.recorder[service], Trigger.Request())

    def set_torque(self, on: bool) -> SetBool.Response:
        return self._call(self.torque, SetBool.Request(data=on))

    def status_where(self, predicate: Callable[[dict], bool], since: int = 0, timeout: float = TIMEOUT_S) -> dict:
        """The newest recorder status (of those after the first ``since``) that satisfies ``predicate``."""
        found: list[dict] = []

        def seen() -> bool:
            found[:] = [s for s in self.statuses[since:] if predicate(s)]
            return bool(found)

        assert wait_for(seen, timeout), f"no such recorder status; last: {self.statuses[-1:]}"
        return found[-1]

    def diag(self, name: str, level: bytes, text: str, timeout: float = TIMEOUT_S) -> DiagnosticStatus:
        """Wait until the follower's status ``name`` has ``level`` and a message containing ``text``."""
        def seen() -> bool:
            s = self.follower.get(name)
            return s is not None and s.level == level and text in s.message

        assert wait_for(seen, timeout), f"follower {name}: no {level!r} with {text!r}; last: {self.follower.get(name)}"
        return self.follower[name]

    def follower_ok(self) -> bool:
        """Bus, commands and every joint OK, following the leader."""
        names = ["bus", "commands"] + [f"joint {j} (id {i})" for i, j in zip(IDS, JOINTS)]
        statuses = [self.follower.get(n) for n in names]
        return all(s is not None and s.level == OK for s in statuses) and \
            statuses[1].message == "following joint_commands"

    def close(self) -> None:
        self.executor_.shutdown()
        self.destroy_node()
        self._thread.join(timeout=10)


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def settled(read: Callable[[], list[int]], window: float = 0.3, timeout: float = 30.0) -> list[int]:
    """``read()`` once it gives the same value twice ``window`` seconds apart."""
    end = time.monotonic() + timeout
    value = read()
    while time.monotonic() < end:
        time.sleep(window)
        again = read()
        if again == value:
            return value
        value = again
    raise AssertionError(f"still changing after {timeout:.0f} s: {value}")


@dataclass
class Rig:
    operator: Operator
    follower: FeetechBusEmulator
    follower_bus: PtyBus
    launch: subprocess.Popen
    log: Path
    root: Path
    saved: list[tuple[int, int]] = field(default_factory=list)  # (episode index, frames) per save
    attempts: int = 0
    recorded: dict[int, np.ndarray] = field(default_factory=dict)  # episode -> its state and action rows

    def registers(self, name: str) -> list[int]:
        return [self.follower.register(i, name) for i in IDS]

    def alive(self) -> None:
        assert self.launch.poll() is None, f"the graph ended:\n{self.log.read_text()[-4000:]}"

    def wait_healthy(self) -> None:
        """The follower follows with every status OK and the recorder is idle."""
        self.alive()
        assert wait_for(self.operator.follower_ok, TIMEOUT_S), \
            {n: (s.level, s.message) for n, s in self.operator.follower.items()}
        self.operator.status_where(lambda s: s["state"] == "idle", since=len(self.operator.statuses) - 1)

    def start(self) -> None:
        self.wait_healthy()
        since = len(self.operator.statuses)
        end = time.monotonic() + TIMEOUT_S
        # Refused while the recorder has not yet discovered a stream's publisher (its first frames).
        while not (reply := self.operator.call("start")).success and time.monotonic() < end:
            assert "no publisher" in reply.message, reply.message
            time.sleep(0.2)
        self.attempts += 1
        assert (reply.success, reply.message) == (True, f"recording episode {len(self.saved) + 1}"), reply.message
        self.operator.status_where(lambda s: s["state"] == "recording" and s["attempts"] == self.attempts
                                   and s["frames"] >= CLEAN_FRAMES, since=since)

    def save(self) -> None:
        reply = self.operator.call("save")
        match = re.fullmatch(r"saved episode (\d+) \(episode_index (\d+), (\d+) frames\)", reply.message)
        assert reply.success and match, reply.message
        number, index, frames = int(match[1]), int(match[2]), int(match[3])
        assert (number, index) == (len(self.saved) + 1, len(self.saved)) and frames > CLEAN_FRAMES
        self.saved.append((index, frames))

    def check_dataset(self) -> LeRobotDataset:
        """Every episode saved so far is in the dataset, unchanged since its save, and its frames decode."""
        dataset = LeRobotDataset(REPO, root=self.root, video_backend="torchcodec")
        assert dataset.num_episodes == len(self.saved)
        rows = np.hstack([np.array(dataset.hf_dataset[key]) for key in ("observation.state", "action")])
        for index, frames in self.saved:
            meta = dataset.meta.episodes[index]
            assert meta["length"] == frames
            episode = rows[meta["dataset_from_index"]:meta["dataset_to_index"]]
            np.testing.assert_array_equal(self.recorded.setdefault(index, episode), episode)
            for i in (meta["dataset_from_index"], meta["dataset_to_index"] - 1):
                frame = dataset[i]
                assert int(frame["episode_index"]) == index
                for camera in CAMERAS:
                    assert tuple(frame[camera].shape) == (3, 96, 128) and frame[camera].std().item() > 0.01
        return dataset


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    out = tmp_path_factory.mktemp("record_real_faults")
    follower_cal, leader_cal = calibration_files(out)
    follower = FeetechBusEmulator(IDS)
    follower_bus = PtyBus(follower, out / "follower_bus")
    follower_bus.open()
    leader_bus = swept_leader_bus(out / "leader_bus")
    log, root = out / "launch.log", out / "dataset"
    rclpy.init()
    operator = Operator()
    launch = subprocess.Popen(
        [str(WORKSPACE / "sim2real"), "launch", "so101", "record_real.launch.py",
         f"follower_port:={follower_bus.link}", f"leader_port:={leader_bus.link}",
         f"follower_calibration:={follower_cal}", f"leader_calibration:={leader_cal}",
         "overhead_source:=synthetic", "wrist_source:=synthetic", f"dataset:={root}", f"repo_id:={REPO}",
         "num_episodes:=0", "episode_time_s:=0", "reset_time_s:=0"],
        cwd=WORKSPACE, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=dict(os.environ))
    rig = Rig(operator, follower, follower_bus, launch, log, root)
    try:
        def streaming() -> bool:
            rig.alive()
            return bool(operator.statuses and operator.states) and \
                all(operator.count_publishers(t) for t in (*CAMERA_TOPICS, "/so101/joint_commands"))

        assert wait_for(streaming, 90), log.read_text()[-4000:]
        yield rig
    finally:
        stop_node(launch, timeout=30)
        operator.close()
        rclpy.shutdown()
        leader_bus.close()
        follower_bus.close()


def test_a_clean_episode_is_saved(rig):
    rig.start()
    time.sleep(0.5)
    rig.save()
    rig.check_dataset()


@dataclass(frozen=True)
class Fault:
    inject: Callable[[Rig], None]
    reports: tuple[tuple[str, str], ...]  # (follower status, text of its ERROR)
    torque: tuple[int, ...]  # Torque_Enable of servos 1..6 during the fault
    missing: tuple[str, ...] | None  # joints missing from joint_states (None: joint_states stop)
    clear: Callable[[Rig], None] = lambda rig: rig.follower.clear_faults()

    @property
    def saveable(self) -> bool:
        """The follower keeps publishing complete joint states: the episode has no gap."""
        return self.missing == ()


def _reenable(rig: Rig) -> None:
    rig.follower.clear_faults()
    reply = rig.operator.set_torque(True)  # a released joint stays off until torque is switched on
    assert (reply.success, reply.message) == (True, "torque on, holding the present pose")


ALL_ON = (1,) * 6

FAULTS = {
    "silence": Fault(
        inject=lambda rig: rig.follower.silence([3]),
        reports=(("joint elbow_flex (id 3)", "no reply from servo id 3"),
                 ("commands", "servos not answering (elbow_flex): no new goals")),
        torque=ALL_ON, missing=("elbow_flex",)),
    "corrupt_replies": Fault(
        inject=lambda rig: rig.follower.corrupt_replies([2]),
        reports=(("joint shoulder_lift (id 2)", "corrupt reply (bad checksum or truncated) from servo id 2"),
                 ("commands", "servos not answering (shoulder_lift): no new goals")),
        torque=ALL_ON, missing=("shoulder_lift",)),
    "unplug": Fault(
        inject=lambda rig: rig.follower.unplug(4),
        reports=(("joint wrist_flex (id 4)", "no reply from servo id 4"),
                 ("commands", "servos not answering (wrist_flex): no new goals")),
        torque=ALL_ON, missing=("wrist_flex",)),
    "overload": Fault(
        inject=lambda rig: rig.follower.set_errors(6, ErrorBit.OVERLOAD),
        reports=(("joint gripper (id 6)", "servo reports overload error: torque released"),
                 ("commands", "gripper released: holding the other joints")),
        torque=(1, 1, 1, 1, 1, 0), missing=(), clear=_reenable),
    "voltage": Fault(
        inject=lambda rig: rig.follower.set_errors(1, ErrorBit.VOLTAGE),
        reports=(("joint shoulder_pan (id 1)", "servo reports input voltage error"),
                 ("commands", "input voltage error on shoulder_pan: holding position")),
        torque=ALL_ON, missing=()),
    # A pulled USB adapter: nothing can be written, the servos keep torque and hold their last goals.
    "bus_lost": Fault(
        inject=lambda rig: rig.follower_bus.close(),
        reports=(("bus", "lost"),),
        torque=ALL_ON, missing=None, clear=lambda rig: rig.follower_bus.open()),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_while_recording(rig, name):
    fault, operator = FAULTS[name], rig.operator
    rig.start()
    index = len(rig.saved)
    injected = time.monotonic()
    fault.inject(rig)
    try:
        # Reported clearly; the node stays up.
        for status, text in fault.reports:
            operator.diag(status, ERROR, text)
        rig.alive()
        # Safe as specified: the torque pattern, and no new goals while the leader keeps moving.
        goals = settled(lambda: rig.registers("Goal_Position"))  # the hold (or release) write has landed
        seen = len(operator.states)
        time.sleep(0.6)
        assert rig.registers("Goal_Position") == goals
        assert tuple(rig.registers("Torque_Enable")) == fault.torque
        present = rig.registers("Present_Position")  # servos with torque and power stand at their goals
        powered = [on and i in rig.follower.servos for i, on in zip(IDS, fault.torque)]  # unplugged: no power
        assert all(abs(p - g) <= 3 for p, g, on in zip(present, goals, powered) if on), (present, goals)
        # What the recorder got meanwhile: complete joint states, states without the faulty joint, or none.
        states = operator.states[seen:]
        if fault.missing is None:
            assert states == []
        else:
            assert states, "the follower stopped publishing joint_states"
            if fault.saveable:
                assert all(list(s.name) == JOINTS for s in states), [list(s.name) for s in states]
            else:
                assert not any(set(fault.missing) & set(s.name) for s in states), [list(s.name) for s in states]
        time.sleep(max(0.0, injected + FAULT_S - time.monotonic()))
        # The operator saves while the fault is still on.
        since = len(operator.statuses)
        if fault.saveable:
            rig.save()
        else:
            reply = operator.call("save")
            assert not reply.success
            assert re.match(rf"episode {index + 1} not saved, discarded: episode refused: \d+ gap\(s\) "
                            rf"longer than {GAP_THRESHOLD_S:.2f} s", reply.message), reply.message
            gaps = {g[0]: (float(g[1]), float(g[2])) for g in GAP_LINE.findall(reply.message)}
            length, start = gaps.pop("observation.state")
            assert length > GAP_THRESHOLD_S and start >= 0.3, reply.message  # after the clean frames
            # The leader and cameras went on through the fault: another stream's stall (a loaded
            # machine's) began before it.
            assert all(other < start for _, other in gaps.values()), reply.message
            # The recorder discarded the episode itself: nothing left to discard.
            reply = operator.call("discard")
            assert (reply.success, reply.message) == (False, "nothing to discard: not recording (idle)")
        status = operator.status_where(lambda s: s["state"] == "idle" and s["attempts"] == rig.attempts,
                                       since=since)
        assert (status["episode_index"], status["episodes_saved"]) == (len(rig.saved), len(rig.saved))
        if not fault.saveable:
            assert status["last"].startswith(f"episode {index + 1} not saved, discarded")
    finally:
        fault.clear(rig)
    # Back to following the leader; every episode saved so far is still there and loads.
    rig.wait_healthy()
    assert tuple(rig.registers("Torque_Enable")) == ALL_ON
    rig.check_dataset()


def test_stop_finalizes_every_saved_episode(rig):
    operator = rig.operator
    rig.wait_healthy()
    since = len(operator.statuses)
    reply = operator.call("stop")
    n = len(rig.saved)
    assert reply.success and f": {n} episodes ({n} saved in this session)" in reply.message, reply.message
    assert rig.launch.wait(timeout=60) == 0, rig.log.read_text()[-4000:]
    final = operator.status_where(lambda s: s["state"] == "stopped", since=since)
    assert (final["episodes_saved"], final["attempts"]) == (n, rig.attempts)
    # The follower switched torque off when the graph ended (its last SYNC_WRITE gets no reply).
    assert wait_for(lambda: rig.registers("Torque_Enable") == [0] * 6, TIMEOUT_S)
    dataset = rig.check_dataset()
    assert dataset.num_frames == sum(frames for _, frames in rig.saved) and dataset.fps == 30
    for index, frames in rig.saved:  # every frame decodes
        meta = dataset.meta.episodes[index]
        assert [int(dataset[i]["frame_index"]) for i in range(meta["dataset_from_index"],
                                                              meta["dataset_to_index"])] == list(range(frames))
    robot = load_robot_config("so101.yaml")
    for key in ("observation.state", "action"):
        values = np.array(dataset.hf_dataset[key])
        assert np.all(np.isfinite(values))
        assert np.all(values >= robot.lower - 1e-6) and np.all(values <= robot.upper + 1e-6), key
