"""Keyboard node: LeRobot's recording keys in the operator's terminal -> recorder services.

Run it in its own terminal (not inside a launch: it needs the tty), in the recorder's namespace:

    ros2 run so101_recorder keyboard                   # /so101/recorder by default
    install/so101_recorder/lib/so101_recorder/keyboard --ros-args -r __ns:=/so101

The status line (episode k of N, elapsed time, frames, drops) follows ``recorder/status``; the
keys are in keyboard.py. The node ends on Esc/q once the recorder has stopped, when the recorder
stops by itself, or on Ctrl-C (leaving the recorder running); the terminal is restored.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time

import rclpy
from rclpy.node import Node
from rclpy.task import Future
from std_msgs.msg import String
from std_srvs.srv import Trigger

from so101_common.node_runner import run_node
from so101_recorder.keyboard import Action, KeyDecoder, raw_terminal, service_for, status_line, write_line
from so101_sim.bridge_node import STATUS_QOS

SERVICES = ("start", "save", "discard", "stop")
POLL_S = 0.02
STOP_WAIT_S = 60.0  # the recorder replies to stop once the dataset is finalized


class KeyboardNode(Node):
    def __init__(self) -> None:
        super().__init__("keyboard", namespace="/so101")
        self.fd = sys.stdin.fileno()
        if not os.isatty(self.fd):
            raise ValueError("the keyboard node reads keys from a terminal: run it in its own terminal, "
                             "not inside a launch or with redirected input")
        self.recorder_services = {name: self.create_client(Trigger, f"recorder/{name}") for name in SERVICES}
        self.create_subscription(String, "recorder/status", self._on_status, STATUS_QOS)
        self.status: dict | None = None
        self.note = ""
        self._pending: list[tuple[str, Future]] = []
        self._stop_sent_at: float | None = None

    def _on_status(self, msg: String) -> None:
        self.status = json.loads(msg.data)

    def _act(self, action: Action) -> None:
        state = self.status["state"] if self.status else None
        name = service_for(action, state)
        if name is None:
            self.note = f"{action.value}: nothing to do while {state or 'waiting'}"
            return
        client = self.recorder_services[name]
        if not client.service_is_ready():
            self.note = f"recorder/{name} not available"
            return
        self._pending.append((name, client.call_async(Trigger.Request())))
        self.note = f"{name}..."
        if name == "stop":
            self._stop_sent_at = time.monotonic()

    def _collect_replies(self) -> bool:
        """Show finished service replies; False once the recorder has answered stop."""
        for name, future in [p for p in self._pending if p[1].done()]:
            self._pending.remove((name, future))
            reply = future.result()
            self.note = f"{name}: {'ok' if reply.success else 'refused'}" + (f" - {reply.message}" if reply.message else "")
            if name == "stop" and reply.success:
                return False
        if self._stop_sent_at is not None and time.monotonic() - self._stop_sent_at > STOP_WAIT_S:
            self.note = f"stop: no reply within {STOP_WAIT_S:.0f} s"
            return False
        return not (self.status and self.status["state"] == "stopped")

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
                        if action is Action.LEAVE:
                            running = False
                            break
                        self._act(action)
                    rclpy.spin_once(self, timeout_sec=0)
                    running = self._collect_replies() and running
                    line = status_line(self.status, self.note)
                    if line != shown:
                        write_line(out, line)
                        shown = line
            finally:
                write_line(out, status_line(self.status, self.note))
                os.write(out, b"\r\n")
        return 0


def main(args: list[str] | None = None) -> None:
    run_node(KeyboardNode, args, run=lambda node: node.run())


if __name__ == "__main__":
    main()
