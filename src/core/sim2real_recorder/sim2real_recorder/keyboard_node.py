"""Keyboard node: LeRobot's recording keys in the operator's terminal -> recorder services.

Run it in its own terminal (not inside a launch: it needs the tty), in the recorder's namespace
(the graph's; there is no default, a keyboard without one says so and exits):

    ros2 run sim2real_recorder keyboard --ros-args -r __ns:=/so101   # the recorder /so101/recorder
    install/sim2real_recorder/lib/sim2real_recorder/keyboard --ros-args -r __ns:=/so101

The status line (key hints, then episode k of N, elapsed time, frames, drops) follows
``recorder/status``; the keys are in keyboard.py (``keyboard --help``). The node ends on Esc/q
once the recorder has stopped (at once when no recorder answers; a second q does not wait), when
the recorder stops by itself, when it has gone (the graph ended or was stopped: nothing publishes
its status, or no status for a while), or on Ctrl-C (leaving the recorder running); the terminal
is restored.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import time

import rclpy
from rclpy.node import Node
from rclpy.task import Future
from rclpy.utilities import remove_ros_args
from std_msgs.msg import String
from std_srvs.srv import Trigger

from sim2real_common.node_runner import run_node
from sim2real_common.qos import STATUS_QOS
from sim2real_recorder.keyboard import (KEYS, Action, KeyDecoder, Message, RecorderWatch, brief, raw_terminal,
                                     service_for, status_line, write_line)

SERVICES = ("start", "save", "discard", "stop")
POLL_S = 0.02
CALL_WAIT_S = 60.0  # the recorder replies to stop once the dataset is finalized; a save can take a while


class KeyboardNode(Node):
    def __init__(self) -> None:
        super().__init__("keyboard")
        self.fd = sys.stdin.fileno()
        if not os.isatty(self.fd):
            raise ValueError("the keyboard node reads keys from a terminal: run it in its own terminal, "
                             "not inside a launch or with redirected input")
        if self.get_namespace() == "/":
            raise ValueError("no namespace: run the keyboard in the recorder's namespace (the graph's), "
                             "--ros-args -r __ns:=/<namespace>, e.g. __ns:=/so101")
        self.clock = time.monotonic  # the times Message and RecorderWatch see
        self.recorder_services = {name: self.create_client(Trigger, f"recorder/{name}") for name in SERVICES}
        self.status_topic = self.resolve_topic_name("recorder/status")
        self.create_subscription(String, "recorder/status", self._on_status, STATUS_QOS)
        self.status: dict | None = None
        self.message = Message()
        self.watch = RecorderWatch()
        self._pending: list[tuple[str, Future, float, int | None]] = []  # name, reply, sent at, attempts then
        self.exit_reason = ""  # printed below the last status line

    def _on_status(self, msg: String) -> None:
        self.status = json.loads(msg.data)
        self.watch.status_received(self.clock())

    def _attempts(self) -> int | None:
        return self.status.get("attempts") if self.status else None

    def _say(self, text: str, episode: int | None = None) -> None:
        self.message.show(text, self.clock(), self._attempts() if episode is None else episode)

    def _act(self, action: Action) -> bool:
        """Call the recorder service of ``action``; False when the keyboard is to exit now."""
        state = self.status["state"] if self.status else None
        name = service_for(action, state)
        if action is Action.STOP and (name is None or any(p[0] == "stop" for p in self._pending)):
            return False  # nothing to stop, or q again: leave without waiting
        if name is None:
            self._say(f"{action.value}: nothing to do while {state or 'waiting'}")
            return True
        client = self.recorder_services[name]
        if not client.service_is_ready():
            self._say(f"recorder/{name} not available")
            return name != "stop"  # no recorder answers: q leaves
        self._pending.append((name, client.call_async(Trigger.Request()), self.clock(), self._attempts()))
        self._say(f"{name}...")
        return True

    def _collect_replies(self) -> bool:
        """Show finished service replies; False once the recorder has answered stop, has stopped
        or has gone."""
        now = self.clock()
        for pending in list(self._pending):
            name, future, sent_at, attempts = pending
            if future.done():
                reply = future.result()
                text = (brief(reply.message) or f"{name}: ok") if reply.success \
                    else f"{name} refused: {brief(reply.message)}"
            elif now - sent_at > CALL_WAIT_S:
                text = f"{name}: no reply within {CALL_WAIT_S:.0f} s"
            else:
                continue
            self._pending.remove(pending)
            # A start's reply is about the episode it starts: it stays until the one after.
            self._say(text, None if attempts is None else attempts + (name == "start"))
            if name == "stop":
                return False
        gone = self.watch.gone(now, self.count_publishers(self.status_topic), busy=bool(self._pending))
        if gone:
            self.exit_reason = f"keyboard: {gone}; leaving"
            return False
        return not (self.status and self.status["state"] == "stopped")

    def _line(self) -> str:
        # Until the recorder's services are discovered too, a key could not reach them: keep
        # showing "waiting" (a stopped recorder has no services any more).
        live = self.status and self.status["state"] != "stopped"
        ready = all(client.service_is_ready() for client in self.recorder_services.values())
        shown = self.status if ready or not live else None
        return status_line(shown, self.message.text(self.clock(), self._attempts()))

    def run(self) -> int:
        decoder = KeyDecoder()
        out = sys.stdout.fileno()
        running = True
        shown = ""
        with raw_terminal(self.fd):
            try:
                while running:
                    actions: list[Action] = []
                    if select.select([self.fd], [], [], POLL_S)[0]:
                        data = os.read(self.fd, 64)
                        if not data:  # the terminal went away
                            break
                        actions += decoder.feed(data, time.monotonic())
                    actions += decoder.flush(time.monotonic())
                    for action in actions:
                        running = action is not Action.LEAVE and self._act(action)
                        if not running:
                            break
                    rclpy.spin_once(self, timeout_sec=0)
                    running = self._collect_replies() and running
                    line = self._line()
                    if line != shown:
                        write_line(out, line)
                        shown = line
            finally:
                write_line(out, self._line())
                os.write(out, b"\r\n" + (f"{self.exit_reason}\r\n".encode() if self.exit_reason else b""))
        return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="keyboard", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="LeRobot's recording keys for the recorder node (sim2real_recorder recorder_node): run it in "
                    "its own terminal, in the recorder's namespace (the graph's, required: "
                    "--ros-args -r __ns:=/<namespace>, e.g. /so101). Its status line shows the key hints, then the "
                    "episode (this session's, from 1: 'episode 3 of 5', as the recorder's messages say), "
                    "its time, frames and drops, and the last reply for a few seconds.",
        epilog=f"keys:\n{KEYS}\n\nIt exits on Esc/q once the recorder has stopped, when the recorder ends "
               "or has gone, and on Ctrl-C.")
    return parser.parse_args(argv)


def main(args: list[str] | None = None) -> None:
    argv = sys.argv if args is None else ["keyboard", *args]
    parse_args(remove_ros_args(argv)[1:])  # --help / -h, and unknown arguments, end here
    run_node(KeyboardNode, args, run=lambda node: node.run())


if __name__ == "__main__":
    main()
