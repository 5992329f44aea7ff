"""The follower node (a real process, as a launcher starts it) on the emulated bus, probed from a
real rclpy node: topics, watchdog, stall protection, one test per fault (reported on /diagnostics,
arm left safe as arm_control.py specifies, node stays up), teleoperation from the leader node, and
torque off on Ctrl-C."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool

from so101.paths import data_dir
from sim2real_common.robot_config import load_robot_config
from sim2real_common.ros_testing import isolate_ros, start_node, stop_node
from so101.hardware.calibration import JointMapping, load_calibration
from feetech.emulator import FeetechBusEmulator, PtyBus
from feetech.protocol import ErrorBit

from conftest import JOINTS, TIMEOUT_MS

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR
IDS = range(1, 7)


class Probe(Node):
    """Listens to joint_states, joint_commands and /diagnostics; keeps publishing ``target`` as
    joint_commands."""

    def __init__(self) -> None:
        super().__init__("probe", namespace="so101")
        self.states: list[JointState] = []
        self.commands_in: list[JointState] = []  # full-arm joint_commands (the leader node's)
        self.status: dict[str, DiagnosticStatus] = {}  # latest follower status per name
        self.leader_status: dict[str, DiagnosticStatus] = {}
        self.target: dict[str, float] | None = None
        self.create_subscription(JointState, "joint_states", self.states.append, 50)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        self.create_subscription(JointState, "joint_commands", self._on_command, 50)
        self.commands = self.create_publisher(JointState, "joint_commands", 10)
        self.torque = self.create_client(SetBool, "follower/torque")
        self._last_command = 0.0

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith("so101/follower: "):
                self.status[status.name.removeprefix("so101/follower: ")] = status
            elif status.name.startswith("so101/leader: "):
                self.leader_status[status.name.removeprefix("so101/leader: ")] = status

    def _on_command(self, msg: JointState) -> None:
        # Our own commands name a subset of joints and can still arrive after target is cleared.
        if len(msg.name) == len(IDS):
            self.commands_in.append(msg)

    def spin_until(self, predicate, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rclpy.spin_once(self, timeout_sec=0.02)
            if self.target is not None and time.monotonic() - self._last_command > 0.05:
                msg = JointState(name=list(self.target), position=list(self.target.values()))
                self.commands.publish(msg)
                self._last_command = time.monotonic()
            if predicate():
                return True
        return False

    def spin_for(self, seconds: float) -> None:
        self.spin_until(lambda: False, timeout=seconds)

    def diag(self, name: str, level: bytes, text: str = "", timeout: float = 10.0) -> DiagnosticStatus:
        def seen() -> bool:
            s = self.status.get(name)
            return s is not None and s.level == level and text in s.message

        assert self.spin_until(seen, timeout), f"{name}: no {level} with {text!r}; last: {self.status.get(name)}"
        return self.status[name]

    def position(self, joint: str) -> float:
        last = self.states[-1]
        return last.position[list(last.name).index(joint)]

    def set_torque(self, on: bool) -> SetBool.Response:
        assert self.torque.wait_for_service(timeout_sec=10.0)
        future = self.torque.call_async(SetBool.Request(data=on))
        rclpy.spin_until_future_complete(self, future, timeout_sec=10.0)
        return future.result()


def commanded(msg: JointState, joint: str) -> float:
    return msg.position[list(msg.name).index(joint)]


def registers(emulator: FeetechBusEmulator, name: str) -> list[int]:
    return [emulator.register(i, name) for i in IDS]


def node_args(port, calibration) -> list[str]:
    """The workspace parameter file, then what differs here (later wins)."""
    return ["--params-file", str(data_dir("config") / "so101_hardware.yaml"), "-p", f"port:={port}",
            "-p", f"calibration_file:={calibration}", "-p", f"packet_timeout_ms:={TIMEOUT_MS}",
            "-p", "reconnect_period_s:=1.0"]


@dataclass
class Rig:
    probe: Probe
    emulator: FeetechBusEmulator
    pty: PtyBus
    node: Popen
    log: Path
    calibration: Path


@pytest.fixture(scope="module")
def rig(tmp_path_factory, example_calibration):
    tmp = tmp_path_factory.mktemp("follower")
    isolate_ros(tmp)
    rclpy.init()
    emulator = FeetechBusEmulator(IDS)
    emulator.unplug(3)  # the first test: a servo missing at start-up
    pty = PtyBus(emulator, tmp / "ttyFollower")
    pty.open()
    log = tmp / "follower.log"
    node = start_node("so101.hardware.follower_node", *node_args(pty.link, example_calibration), namespace="so101",
                      log=log)
    rig = Rig(Probe(), emulator, pty, node, log, example_calibration)
    yield rig
    rig.probe.destroy_node()
    if node.poll() is None:
        stop_node(node)
    pty.close()
    rclpy.shutdown()


def test_missing_servo_at_start_is_reported_and_the_node_waits_for_it(rig):
    probe, emulator = rig.probe, rig.emulator
    probe.diag("bus", ERROR, "id 3 elbow_flex: no reply", timeout=30.0)
    probe.spin_for(1.5)  # more than a reconnect period: still up, still reporting
    assert rig.node.poll() is None, rig.log.read_text()
    assert probe.status["bus"].level == ERROR and "retrying every 1 s" in probe.status["bus"].message
    emulator.plug(3)
    probe.diag("bus", OK, "connected, 6 servos (servo calibration registers rewritten from the file)")
    assert registers(emulator, "Torque_Enable") == [1] * 6


def test_joint_states_are_published_at_control_rate_in_config_order(rig):
    probe, emulator = rig.probe, rig.emulator
    probe.states.clear()
    assert probe.spin_until(lambda: len(probe.states) >= 10, timeout=30.0)
    # The timer ticks on a control_hz grid: a loaded machine may make it skip ticks or run one
    # late, never run n ticks in less than n - 2 periods.
    period_s = 1.0 / load_robot_config("so101.yaml").control_hz
    stamps = [s.header.stamp.sec + s.header.stamp.nanosec * 1e-9 for s in probe.states]
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] > (len(stamps) - 2) * period_s * 0.99
    assert f"at {load_robot_config('so101.yaml').control_hz:g} Hz" in rig.log.read_text()
    assert list(probe.states[-1].name) == JOINTS
    pan = JointMapping(load_calibration(rig.calibration, JOINTS)["shoulder_pan"])
    assert probe.position("shoulder_pan") == pytest.approx(
        pan.to_radians(emulator.register(1, "Present_Position")), abs=2e-3)
    assert probe.status["commands"].message == "holding position: no joint_commands yet"


def test_follows_joint_commands_by_name(rig):
    probe = rig.probe
    start = probe.position("shoulder_pan")
    probe.target = {"gripper": 0.8, "shoulder_pan": start + 0.3}  # any order, any subset
    assert probe.spin_until(lambda: abs(probe.position("shoulder_pan") - start - 0.3) < 0.01
                            and abs(probe.position("gripper") - 0.8) < 0.01)
    probe.diag("commands", OK, "following joint_commands")


def test_watchdog_holds_position_when_commands_stop(rig):
    probe, emulator = rig.probe, rig.emulator
    probe.target = None
    probe.diag("commands", WARN, "no joint_commands for")
    probe.spin_for(0.3)
    assert registers(emulator, "Goal_Position") == pytest.approx(registers(emulator, "Present_Position"), abs=1)
    assert registers(emulator, "Torque_Enable") == [1] * 6


def test_stall_backs_off_the_gripper_squeezing_a_block(rig):
    probe, emulator = rig.probe, rig.emulator
    emulator.place_obstacle(6, lower=emulator.register(6, "Present_Position") - 200)
    probe.target = {"gripper": -0.17}
    status = probe.diag("joint gripper (id 6)", WARN, "goal backed off")
    probe.spin_for(0.3)
    assert abs(emulator.register(6, "Present_Load")) < 200  # below the 20 % threshold: holding gently
    assert emulator.register(6, "Torque_Enable") == 1
    assert {v.key for v in status.values} >= {"load_percent", "current_ma", "voltage_v", "torque"}
    emulator.remove_obstacle(6)
    probe.target = {"gripper": 0.8}
    probe.diag("joint gripper (id 6)", OK)


@pytest.mark.parametrize("fault,joint,servo_id,text", [
    ("silence", "elbow_flex", 3, "no reply from servo id 3"),
    ("corrupt", "shoulder_lift", 2, "corrupt reply (bad checksum or truncated) from servo id 2"),
    ("unplug", "wrist_flex", 4, "no reply from servo id 4"),
])
def test_servo_communication_faults_stop_new_goals(rig, fault, joint, servo_id, text):
    probe, emulator = rig.probe, rig.emulator
    probe.target = {"shoulder_pan": probe.position("shoulder_pan")}
    probe.diag("commands", OK, "following")
    {"silence": lambda: emulator.silence([servo_id]), "corrupt": lambda: emulator.corrupt_replies([servo_id]),
     "unplug": lambda: emulator.unplug(servo_id)}[fault]()
    probe.diag(f"joint {joint} (id {servo_id})", ERROR, text)
    probe.diag("commands", ERROR, f"servos not answering ({joint}): no new goals")
    goals = registers(emulator, "Goal_Position")
    probe.target = {"shoulder_pan": probe.position("shoulder_pan") + 0.3}
    probe.spin_for(0.5)
    assert registers(emulator, "Goal_Position") == goals  # nothing new goes out
    assert registers(emulator, "Torque_Enable") == [1] * 6
    emulator.clear_faults()
    probe.diag(f"joint {joint} (id {servo_id})", OK)
    probe.diag("commands", OK, "following")


def test_overload_error_releases_that_joint_and_holds_the_others(rig):
    probe, emulator = rig.probe, rig.emulator
    emulator.set_errors(6, ErrorBit.OVERLOAD)
    probe.diag("joint gripper (id 6)", ERROR, "overload error: torque released")
    probe.diag("commands", ERROR, "gripper released: holding the other joints")
    probe.spin_for(0.2)
    assert registers(emulator, "Torque_Enable") == [1, 1, 1, 1, 1, 0]
    goals = registers(emulator, "Goal_Position")
    probe.target = {"shoulder_pan": probe.position("shoulder_pan") - 0.3}
    probe.spin_for(0.4)
    assert registers(emulator, "Goal_Position") == goals
    emulator.clear_faults()
    assert probe.set_torque(True).message == "torque on, holding the present pose"
    probe.diag("joint gripper (id 6)", OK)
    assert registers(emulator, "Torque_Enable") == [1] * 6


def test_voltage_error_holds_the_arm_with_torque_on(rig):
    probe, emulator = rig.probe, rig.emulator
    emulator.set_errors(1, ErrorBit.VOLTAGE)
    status = probe.diag("joint shoulder_pan (id 1)", ERROR, "input voltage error")
    assert {v.key: v.value for v in status.values}["voltage_v"] == "5.5"
    probe.diag("commands", ERROR, "input voltage error on shoulder_pan: holding position")
    goals = registers(emulator, "Goal_Position")
    probe.target = {"shoulder_pan": probe.position("shoulder_pan") + 0.3}
    probe.spin_for(0.4)
    assert registers(emulator, "Goal_Position") == goals
    assert registers(emulator, "Torque_Enable") == [1] * 6
    emulator.clear_faults()
    probe.diag("commands", OK, "following")


def test_bus_that_disappears_is_reported_and_reconnected(rig):
    probe, emulator = rig.probe, rig.emulator
    probe.target = None
    rig.pty.close()
    probe.diag("bus", ERROR, "lost")
    probe.spin_for(2.5)  # two reconnect periods: no crash, no restart
    assert rig.node.poll() is None, rig.log.read_text()
    assert "retrying every 1 s" in probe.status["bus"].message
    assert registers(emulator, "Torque_Enable") == [1] * 6  # nothing could be written: servos hold their goals
    rig.pty.open()
    probe.diag("bus", OK, "connected, 6 servos")


def test_leader_arm_teleoperates_the_follower(rig):
    probe, emulator = rig.probe, rig.emulator
    probe.target = None
    leader_bus = FeetechBusEmulator(IDS)
    with PtyBus(leader_bus, rig.pty.link.parent / "ttyLeader") as pty:
        leader = start_node("so101.hardware.leader_node", *node_args(pty.link, rig.calibration), namespace="so101")
        try:
            probe.diag("commands", OK, "following", timeout=30.0)
            for servo_id in IDS:  # a hand moves the leader (torque off)
                leader_bus.servo(servo_id).position += 150
            target = [leader_bus.register(i, "Present_Position") for i in IDS]
            assert probe.spin_until(lambda: registers(emulator, "Present_Position") == target)
            assert registers(leader_bus, "Torque_Enable") == [0] * 6
            # The hand swings wrist_roll past the follower's limit: the command stops there, a WARN.
            roll = leader_bus.servo(5)
            roll.position = roll.to_absolute(4000)  # +3.0 rad with this calibration (limit 2.8412)
            upper = load_robot_config("so101.yaml").upper[4]

            def clamping() -> bool:
                status = probe.leader_status.get("commands")
                return status is not None and status.level == WARN and probe.commands_in and \
                    commanded(probe.commands_in[-1], "wrist_roll") == upper

            assert probe.spin_until(clamping), (probe.leader_status.get("commands"), probe.commands_in[-1:])
            assert probe.leader_status["commands"].message == \
                "leader beyond the joint limits (wrist_roll > 2.8412 rad): commands clamped to them"
            assert probe.spin_until(lambda: abs(probe.position("wrist_roll") - upper) < 0.01)
        finally:
            assert stop_node(leader) == 0
    probe.diag("commands", WARN, "no joint_commands")


def test_ctrl_c_switches_torque_off(rig):
    assert registers(rig.emulator, "Torque_Enable") == [1] * 6
    assert stop_node(rig.node) == 0, rig.log.read_text()
    # the last SYNC_WRITE gets no reply: give the emulator a moment to handle it
    assert rig.probe.spin_until(lambda: registers(rig.emulator, "Torque_Enable") == [0] * 6, timeout=20.0)
