"""run_node in a real process: after the first SIGINT/SIGTERM, later ones do not interrupt the
node's clean-up; a node whose constructor fails is reported in one line and its half-built state
is destroyed without a second error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sim2real_common.ros_testing import isolate_ros

DEADLINE_S = 60.0

# A node that spins until shut down, then "writes its results" only once the test's second and
# third signals have arrived (so they land in the middle of its clean-up), then reports.
CLEAN_UP_NODE = textwrap.dedent("""
    import sys, time
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.node import Node
    from sim2real_common import node_runner

    class Writer(Node):
        def __init__(self):
            super().__init__("writer")
            self.create_timer(0.05, lambda: None)

        def run(self):
            print("spinning", flush=True)
            try:
                while True:
                    rclpy.spin_once(self, timeout_sec=0.1)
            except ExternalShutdownException:
                pass
            except Exception:  # spin_once on a context shut down under it may raise RCLError instead
                if not node_runner.shutdown_requested():
                    raise
            print("cleaning up", flush=True)
            seen, deadline = 1, time.monotonic() + 60
            while seen < 3 and time.monotonic() < deadline:
                if len(node_runner._received) > seen:
                    seen = len(node_runner._received)
                    print(f"noted {seen}", flush=True)
                time.sleep(0.01)
            print("results written after signals " + ",".join(map(str, node_runner._received)), flush=True)
            return 130

    node_runner.run_node(Writer, run=lambda node: node.run())
""")

# A node that builds timers (reference cycles keep it alive until rclpy's shutdown destroys it)
# and then fails; its destroy_node reads an attribute set only at the end of __init__.
FAILING_NODE = textwrap.dedent("""
    from rclpy.node import Node
    from sim2real_common import node_runner
    from sim2real_common.errors import UserError

    class Half(Node):
        def __init__(self):
            super().__init__("half")
            self.thing = None  # what destroy_node cleans up, set before anything can fail
            self.create_timer(1.0, self.destroy_node)
            raise UserError("/some/file.yaml: field: expected a number, found 'x'")

        def destroy_node(self):
            if self.thing is not None:
                self.thing.close()
            super().destroy_node()

    node_runner.run_node(Half)
""")


@pytest.fixture(scope="module", autouse=True)
def ros(tmp_path_factory):
    return isolate_ros(tmp_path_factory.mktemp("ros_log"))


def _start(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ))


def _wait_for_line(proc: subprocess.Popen, text: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    for line in proc.stdout:  # blocks per line; the deadline bounds how many we read
        if text in line:
            return
        assert time.monotonic() < deadline, f"no {text!r}"
    pytest.fail(f"the node ended before printing {text!r}: {proc.stderr.read()}")


@pytest.mark.parametrize("later", [(signal.SIGINT, signal.SIGINT), (signal.SIGINT, signal.SIGTERM)],
                         ids=["sigint-sigint", "sigint-sigterm"])
def test_later_signals_do_not_interrupt_the_clean_up(later):
    proc = _start(CLEAN_UP_NODE)
    _wait_for_line(proc, "spinning")
    proc.send_signal(signal.SIGINT)
    _wait_for_line(proc, "cleaning up")
    for count, sig in enumerate(later, start=2):
        proc.send_signal(sig)
        _wait_for_line(proc, f"noted {count}")  # one at a time: the kernel merges a pending repeat
    out, err = proc.communicate(timeout=DEADLINE_S)
    expected = ",".join(str(int(s)) for s in (signal.SIGINT, *later))
    assert f"results written after signals {expected}" in out
    assert proc.returncode == 130 and "Traceback" not in err, err


def test_failing_constructor_is_one_line_and_its_half_built_node_is_destroyed():
    proc = _start(FAILING_NODE)
    out, err = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 2
    assert err.strip() == "error: /some/file.yaml: field: expected a number, found 'x'"
