"""Integration tests run the workspace the way a user does: the `sim2real` command on an isolated,
loopback-only ROS 2 domain."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sim2real_common.ros_testing import isolate_ros

WORKSPACE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def ros_domain(tmp_path_factory):
    return isolate_ros(tmp_path_factory.mktemp("ros_log"))


def run_sim2real(*args: str, timeout: float = 900, env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess:
    """`./sim2real <args>` from the workspace root, output captured; ``env`` defaults to ours."""
    return subprocess.run([str(WORKSPACE / "sim2real"), *args], cwd=WORKSPACE, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ) if env is None else env)
