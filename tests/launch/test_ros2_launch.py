"""The launch files under the real `ros2 launch` (where it is installed, or through
SIM2REAL_UPSTREAM_LAUNCH, see conftest.py): run from the repository root and from elsewhere, they
reject an argument they do not declare before any node starts, and exit non-zero when a node
fails; a good run exits 0. The same checks for `sim2real launch` are in tests/integration."""

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

WORKSPACE = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("ros2") is None or importlib.util.find_spec("ros2launch") is None,
    reason="ros2 launch is not installed (set SIM2REAL_UPSTREAM_LAUNCH, see tests/launch/conftest.py)")


def ros2_launch(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["ros2", "launch", "so101", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ))


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


@pytest.mark.parametrize("where", ["root", "elsewhere"])
def test_an_undeclared_argument_is_rejected_before_any_node_starts(where, tmp_path):
    result = ros2_launch("eval_sim.launch.py", "episodes:=3", cwd=WORKSPACE if where == "root" else tmp_path)
    text = output(result)
    assert result.returncode != 0, text[-3000:]
    assert "eval_sim.launch.py has no argument 'episodes'; accepted arguments" in text, text[-3000:]
    assert "n_episodes:=<int>" in text and "process started" not in text


def test_a_failing_node_makes_ros2_launch_exit_non_zero(tmp_path):
    result = ros2_launch("eval_sim.launch.py", "n_episodes:=1", "policy:=nonsense", cwd=tmp_path)
    text = output(result)
    assert result.returncode != 0, text[-3000:]
    assert "nonsense" in text and "expert" in text  # the policy node's own error
    assert text.count("Caught exception in launch") == 1 and "policy: exited with code 2" in text, text[-3000:]


def test_a_good_run_from_the_repository_root_exits_0(tmp_path):
    report = tmp_path / "report.json"
    result = ros2_launch("eval_sim.launch.py", "n_episodes:=1", f"report:={report}", cwd=WORKSPACE)
    assert result.returncode == 0, output(result)[-3000:]
    assert len(json.loads(report.read_text())["episodes"]) == 1
