"""The keyboard node in a pseudo-terminal, against a small real rclpy node that serves the
recorder's services and status: keys in, the right service calls and status line out."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import termios
import threading
import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import String
from std_srvs.srv import Trigger

from so101_common.ros_testing import isolate_ros
from so101_sim.bridge_node import STATUS_QOS

RIGHT, LEFT, ESC = b"\x1b[C", b"\x1b[D", b"\x1b"


class FakeRecorder(Node):
    """Serves /so101/recorder/{start,save,discard,stop} and publishes a status like the recorder's."""

    def __init__(self) -> None:
        super().__init__("recorder", namespace="/so101")
        self.calls: list[str] = []
        self.status = {"state": "idle", "episodes_saved": 0, "target": 3, "elapsed_s": 0.0, "frames": 0,
                       "episode_time_s": 0.0, "reset_time_s": 0.0, "streams": {}, "warnings": []}
        self.pub = self.create_publisher(String, "~/status", STATUS_QOS)
        for name in ("start", "save", "discard", "stop"):
            self.create_service(Trigger, f"~/{name}", lambda req, res, n=name: self._on_call(n, res))
        self._publish()

    def _on_call(self, name: str, response: Trigger.Response) -> Trigger.Response:
        self.calls.append(name)
        if name == "save":
            self.status["episodes_saved"] += 1
        self.status["state"] = {"start": "recording", "save": "recording", "discard": "recording",
                                "stop": "stopped"}[name]
        self._publish()
        response.success = True
        response.message = f"{name} done"
        return response

    def _publish(self) -> None:
        self.pub.publish(String(data=json.dumps(self.status)))


class Terminal:
    """A pseudo-terminal running the keyboard node; collects what it prints."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.initial = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen([sys.executable, "-m", "so101_recorder.keyboard_node"],
                                     stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                     start_new_session=True, env=dict(os.environ))
        self.text = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            if not select.select([self.master], [], [], 0.1)[0]:
                if self.proc.poll() is not None:
                    return
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:  # the child closed the terminal
                return
            with self._lock:
                self.text += data.decode(errors="replace")

    def mark(self) -> int:
        with self._lock:
            return len(self.text)

    def wait_for(self, words: str, since: int = 0, timeout: float = 20.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if words in self.text[since:]:
                    return True
            time.sleep(0.02)
        return False

    def press(self, key: bytes) -> None:
        os.write(self.master, key)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=2.0)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture(scope="module")
def recorder(tmp_path_factory):
    isolate_ros(tmp_path_factory.mktemp("ros_log"))
    rclpy.init()
    node = FakeRecorder()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown()


@pytest.fixture
def terminal(recorder):
    recorder.calls.clear()
    recorder.status.update(state="idle", episodes_saved=0)
    recorder._publish()
    term = Terminal()
    yield term
    term.close()


def _wait_calls(recorder: FakeRecorder, count: int, timeout: float = 10.0) -> list[str]:
    end = time.monotonic() + timeout
    while len(recorder.calls) < count and time.monotonic() < end:
        time.sleep(0.02)
    return list(recorder.calls)


@pytest.mark.parametrize("stop_key", [ESC, b"q"])
def test_keys_call_the_recorder_services_and_the_line_follows_the_status(recorder, terminal, stop_key):
    assert terminal.wait_for("IDLE next: episode 1 of 3"), terminal.text[-2000:]
    steps = [(RIGHT, "start", "REC episode 1 of 3"), (RIGHT, "save", "REC episode 2 of 3"),
             (LEFT, "discard", "discard: ok"), (b"n", "save", "REC episode 3 of 3"),
             (b"r", "discard", "discard: ok")]
    for count, (key, service, shown) in enumerate(steps, start=1):
        since = terminal.mark()
        terminal.press(key)
        assert _wait_calls(recorder, count)[-1:] == [service], (key, recorder.calls, terminal.text[-1500:])
        assert terminal.wait_for(shown, since), (shown, terminal.text[-1500:])
    terminal.press(stop_key)
    assert terminal.proc.wait(timeout=20) == 0, terminal.text[-2000:]
    assert recorder.calls == ["start", "save", "discard", "save", "discard", "stop"]
    assert "STOPPED  saved 2" in terminal.text
    assert termios.tcgetattr(terminal.slave) == terminal.initial  # raw mode undone


def test_ctrl_c_leaves_the_recorder_running(recorder, terminal):
    assert terminal.wait_for("IDLE next: episode 1 of 3"), terminal.text[-2000:]
    terminal.press(b"\x03")
    assert terminal.proc.wait(timeout=20) == 0, terminal.text[-2000:]
    assert recorder.calls == []
    assert termios.tcgetattr(terminal.slave) == terminal.initial


def test_without_a_terminal_it_says_so(tmp_path):
    result = subprocess.run([sys.executable, "-m", "so101_recorder.keyboard_node"], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert result.returncode == 2
    assert "terminal" in result.stderr and "Traceback" not in result.stderr
