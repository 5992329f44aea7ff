"""The keyboard node in a pseudo-terminal, against a small real rclpy node that serves the
recorder's services and status: keys in, the right service calls and status line out; it exits
when the recorder goes away, and q always exits."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import String
from std_srvs.srv import Trigger

from sim2real_common.qos import STATUS_QOS
from sim2real_common.ros_testing import isolate_ros

RIGHT, LEFT, ESC = b"\x1b[C", b"\x1b[D", b"\x1b"
KEYBOARD = Path(__file__).resolve().parents[4] / "install" / "sim2real_recorder" / "lib" / "sim2real_recorder" / "keyboard"


class FakeRecorder(Node):
    """Serves <namespace>/recorder/{start,save,discard,stop} and publishes a status like the
    recorder's (on every change and once a second), as a timed session without reset period: after
    a save or a discard the next episode starts at once; replies numbered as the recorder's."""

    def __init__(self, namespace: str = "/so101") -> None:
        super().__init__("recorder", namespace=namespace)
        self.calls: list[str] = []
        self.status: dict = {}
        self.reset()
        self.pub = self.create_publisher(String, "~/status", STATUS_QOS)
        for name in ("start", "save", "discard", "stop"):
            self.create_service(Trigger, f"~/{name}", lambda req, res, n=name: self._on_call(n, res))
        self.create_timer(1.0, self._publish)
        self._publish()

    def reset(self) -> None:
        self.calls.clear()
        self.status = {"state": "idle", "episode": 1, "episode_index": 0, "episodes_saved": 0, "attempts": 0,
                       "target": 3, "elapsed_s": 0.0, "frames": 0, "episode_time_s": 0.0, "reset_time_s": 0.0,
                       "streams": {}, "warnings": []}

    def _on_call(self, name: str, response: Trigger.Response) -> Trigger.Response:
        self.calls.append(name)
        status = self.status
        label = f"episode {status['episode']} of {status['target']}"
        response.message = {"start": f"recording {label}",
                            "save": f"saved {label} (episode_index {status['episode_index']}, 10 frames)",
                            "discard": f"discarded {label} (10 frames)",
                            "stop": f"finalized: {status['episodes_saved']} episodes"}[name]
        if name == "save":
            status.update(episodes_saved=status["episodes_saved"] + 1, episode=status["episode"] + 1,
                          episode_index=status["episode_index"] + 1)
        if name != "stop":
            status["attempts"] += 1
        status["state"] = "stopped" if name == "stop" else "recording"
        self._publish()
        response.success = True
        return response

    def _publish(self) -> None:
        self.pub.publish(String(data=json.dumps(self.status)))


class Terminal:
    """A pseudo-terminal running the keyboard node; collects what it prints."""

    def __init__(self, *args: str) -> None:
        self.master, self.slave = os.openpty()
        self.initial = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen([sys.executable, "-m", "sim2real_recorder.keyboard_node", *args],
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
        return self.wait_until(lambda text: words in text[since:], timeout)

    def wait_until(self, condition, timeout: float = 20.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if condition(self.text):
                    return True
            time.sleep(0.02)
        return False

    @staticmethod
    def last_line(text: str) -> str:
        """The status line on screen in ``text`` (each redraw starts with ESC [ 2 K)."""
        return text.rsplit("\x1b[2K", 1)[-1]

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
    recorder.reset()
    recorder._publish()
    term = Terminal("--ros-args", "-r", "__ns:=/so101")
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
    # One numbering: the screen's episode and the recorder's replies (shown in [...]) agree.
    steps = [(RIGHT, "start", "REC episode 1 of 3"), (RIGHT, "save", "REC episode 2 of 3"),
             (LEFT, "discard", "REC episode 2 of 3  0.0 s  0 frames  drops 0  [discarded episode 2 of 3]"),
             (b"n", "save", "REC episode 3 of 3  0.0 s  0 frames  drops 0  [saved episode 2 of 3]"),
             (b"r", "discard", "[discarded episode 3 of 3]")]
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


def test_a_reply_leaves_the_screen_once_the_next_episode_runs(recorder, terminal):
    assert terminal.wait_for("IDLE next: episode 1 of 3"), terminal.text[-2000:]
    terminal.press(RIGHT)
    assert terminal.wait_for("REC episode 1 of 3"), terminal.text[-2000:]
    terminal.press(LEFT)  # the fake starts the next attempt at once, like a session without reset period
    assert terminal.wait_for("[discarded episode 1 of 3"), terminal.text[-2000:]
    assert terminal.wait_until(lambda text: "REC episode 1 of 3" in (line := terminal.last_line(text))
                               and "discarded" not in line), terminal.text[-2000:]


def test_ctrl_c_leaves_the_recorder_running(recorder, terminal):
    assert terminal.wait_for("IDLE next: episode 1 of 3"), terminal.text[-2000:]
    terminal.press(b"\x03")
    assert terminal.proc.wait(timeout=20) == 0, terminal.text[-2000:]
    assert recorder.calls == []
    assert termios.tcgetattr(terminal.slave) == terminal.initial


def test_q_exits_at_once_when_no_recorder_answers(recorder):
    term = Terminal("--ros-args", "-r", "__ns:=/nobody")
    try:
        assert term.wait_for("q quit | waiting for the recorder"), term.text[-2000:]
        since = term.mark()
        term.press(RIGHT)
        assert term.wait_for("[next: nothing to do while waiting]", since), term.text[-2000:]
        term.press(b"q")
        assert term.proc.wait(timeout=20) == 0, term.text[-2000:]
        assert termios.tcgetattr(term.slave) == term.initial
    finally:
        term.close()


def test_the_keyboard_exits_when_the_recorder_goes(recorder):
    """The graph ends or is stopped: the recorder's status publisher disappears."""
    gone = FakeRecorder("/gone")
    executor = SingleThreadedExecutor()
    executor.add_node(gone)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    term = Terminal("--ros-args", "-r", "__ns:=/gone")
    try:
        assert term.wait_for("IDLE next: episode 1 of 3"), term.text[-2000:]
        executor.shutdown()
        gone.destroy_node()
        assert term.proc.wait(timeout=60) == 0, term.text[-2000:]
        assert "keyboard: the recorder has gone (nothing publishes recorder/status); leaving" in term.text, \
            term.text[-2000:]
        assert termios.tcgetattr(term.slave) == term.initial
        assert gone.calls == []
    finally:
        term.close()
        thread.join(timeout=5)


def test_without_a_namespace_it_says_so(recorder):
    term = Terminal()
    try:
        assert term.proc.wait(timeout=60) == 2, term.text[-2000:]
        assert term.wait_for("error: no namespace: run the keyboard in the recorder's namespace (the graph's), "
                             "--ros-args -r __ns:=/<namespace>, e.g. __ns:=/so101"), term.text[-2000:]
        assert "Traceback" not in term.text
        assert recorder.calls == []
    finally:
        term.close()


def test_help_lists_the_keys_and_exits(tmp_path):
    assert KEYBOARD.is_file(), f"{KEYBOARD}: the workspace is not built"
    result = subprocess.run([str(KEYBOARD), "--help"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=60, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: keyboard")
    for words in ("Right arrow or n   save the episode being recorded; while idle or resetting: start the next one",
                  "Left arrow or r    discard the episode being recorded", "Esc or q", "Ctrl-C",
                  "--ros-args -r __ns:=/<namespace>", "'episode 3 of 5'"):
        assert words in " ".join(result.stdout.split()) or words in result.stdout, (words, result.stdout)
    unknown = subprocess.run([str(KEYBOARD), "--episodes", "3"], stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=60, env=dict(os.environ))
    assert unknown.returncode == 2 and "unrecognized arguments: --episodes 3" in unknown.stderr


def test_without_a_terminal_it_says_so(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sim2real_recorder.keyboard_node"], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert result.returncode == 2
    assert "terminal" in result.stderr and "Traceback" not in result.stderr
