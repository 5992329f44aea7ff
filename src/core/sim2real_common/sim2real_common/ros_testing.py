"""Helpers for tests that run real ROS 2 nodes: an isolated DDS domain on loopback and node
processes started the way a launcher starts them (no rclpy import here)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path


def isolate_ros(log_dir: Path) -> dict[str, str]:
    """Put this process (and its children) on a private loopback-only DDS domain."""
    os.environ["ROS_DOMAIN_ID"] = str(random.Random(os.getpid()).randint(1, 100))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ["ROS_LOG_DIR"] = str(log_dir)
    os.environ.setdefault("MUJOCO_GL", "egl")
    return dict(os.environ)


def start_node(module: str, *ros_args: str, namespace: str, log: Path | None = None,
               params: dict[str, object] | None = None) -> subprocess.Popen:
    """Run ``python -m module --ros-args -r __ns:=/namespace [-p k:=v ...] ros_args...``."""
    cmd = [sys.executable, "-m", module, "--ros-args", "-r", f"__ns:=/{namespace}"]
    for key, value in (params or {}).items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        cmd += ["-p", f"{key}:={text}"]
    cmd += list(ros_args)
    out = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))


def stop_node(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGINT (like Ctrl-C / launch shutdown), then SIGKILL if it does not exit."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def spin_until(node, predicate, timeout: float = 20.0) -> bool:
    """Spin ``node`` until ``predicate()`` holds or ``timeout`` seconds pass; returns whether it held."""
    import time

    import rclpy

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
        if predicate():
            return True
    return False


def call_trigger(node, client, timeout: float = 20.0):
    """Call a std_srvs/Trigger client from a test node; returns the response."""
    import rclpy
    from std_srvs.srv import Trigger

    assert client.wait_for_service(timeout_sec=timeout), f"{client.srv_name} not available"
    future = client.call_async(Trigger.Request())
    rclpy.spin_until_future_complete(node, future, timeout_sec=timeout)
    return future.result()
