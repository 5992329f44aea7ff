import io
import json
import os
import re
import signal
import sys
import threading
from pathlib import Path

import pytest
import yaml

from sim2real_bringup.errors import LaunchError
from sim2real_bringup.graph import NodeSpec, graph_for_launch_file, graphs_dir
from sim2real_bringup.graph_file import load_graph
from sim2real_bringup.launcher import Launcher, exit_code, installed_executable, node_command, write_overrides

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_script(package: str, executable: str) -> list[str]:
    """Executable lookup for the test graph: its nodes are the scripts in fixtures/."""
    assert package == "fixtures"
    return [sys.executable, str(FIXTURES / f"{executable}.py")]


def run_fixture_graph(tmp_path: Path, **arguments: str) -> tuple[int, str, str, dict]:
    heard = tmp_path / "heard.json"
    nodes = load_graph(FIXTURES / "talk_listen.yaml").resolve(
        {"fixtures": str(FIXTURES), "heard": str(heard), **arguments})
    out, err = io.StringIO(), io.StringIO()
    code = Launcher(nodes, find_executable=fixture_script, stdout=out, stderr=err,
                    sigterm_timeout_s=1.0, sigkill_timeout_s=15.0).run()
    return code, out.getvalue(), err.getvalue(), json.loads(heard.read_text()) if heard.exists() else {}


def assert_all_ended(err: str) -> None:
    pids = [int(p) for p in re.findall(r"with pid (\d+)", err)]
    assert len(pids) == 2
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_graph_runs_until_the_shutdown_node_ends(tmp_path):
    code, out, err, heard = run_fixture_graph(tmp_path, count="4")
    assert code == 0
    assert heard == {"node": "/fixture/listener", "topic": "/fixture/chatter",
                     "messages": [f"hello {i}" for i in range(4)]}
    assert "[talker] sent hello 0\n" in out
    assert "[launch] talker: exited with code 0; shutting down" in err
    assert_all_ended(err)


def test_exit_code_of_the_shutdown_node_is_the_result(tmp_path):
    code, _, err, heard = run_fixture_graph(tmp_path, count="1", exit_code="4")
    assert code == 4
    assert heard["messages"] == ["hello 0"]
    assert_all_ended(err)


def test_a_failing_node_ends_the_graph(tmp_path):
    code, _, err, _ = run_fixture_graph(tmp_path, listener_fails="true")
    assert code == 3
    assert "[listener] failing on purpose" in err
    assert "[launch] listener: exited with code 3; shutting down" in err
    assert_all_ended(err)


def test_a_node_ignoring_sigint_gets_sigterm(tmp_path):
    code, _, err, heard = run_fixture_graph(tmp_path, count="2", listener_ignores_sigint="true")
    assert code == 0
    assert "listener: still running, sending SIGTERM" in err
    assert heard["messages"] == ["hello 0", "hello 1"]
    assert_all_ended(err)


def test_sigint_stops_every_node(tmp_path):
    interrupt = threading.Timer(4.0, os.kill, (os.getpid(), signal.SIGINT))
    interrupt.start()
    try:
        code, _, err, heard = run_fixture_graph(tmp_path, count="100000")
    finally:
        interrupt.cancel()
    assert code == 130
    assert "[launch] SIGINT: shutting down" in err
    assert heard["messages"][:2] == ["hello 0", "hello 1"]
    assert_all_ended(err)


def test_command_line_is_the_one_launch_ros_builds(tmp_path):
    spec = NodeSpec("sim2real_sim", "sim_bridge", "sim", "/so101", (Path("/cfg/sim.yaml"),),
                    {"seed": 3}, (("joint_commands", "cmd"),))
    overrides = write_overrides(spec, tmp_path)
    assert node_command(spec, ["/ws/lib/sim2real_sim/sim_bridge"], overrides) == [
        "/ws/lib/sim2real_sim/sim_bridge", "--ros-args", "-r", "__node:=sim", "-r", "__ns:=/so101",
        "--params-file", "/cfg/sim.yaml", "--params-file", str(overrides), "-r", "joint_commands:=cmd"]


def test_overrides_file_keeps_types(tmp_path):
    parameters = {"n_episodes": 3, "record_video": True, "report": "", "policy": "10", "cameras": ["a", "b"]}
    spec = NodeSpec("sim2real_sim", "evaluator", "evaluator", "/so101", (), parameters)
    written = yaml.safe_load(write_overrides(spec, tmp_path).read_text())
    assert written == {"/so101/evaluator": {"ros__parameters": parameters}}
    assert write_overrides(NodeSpec("p", "e", "n", "/", (), {}), tmp_path) is None


def test_eval_sim_nodes_are_installed_executables():
    for spec in load_graph(graph_for_launch_file("eval_sim.launch.py", graphs_dir("so101"))).resolve({}):
        (path,) = installed_executable(spec.package, spec.executable)
        assert path.endswith(f"/lib/{spec.package}/{spec.executable}")


def test_missing_executable_and_package_are_launch_errors():
    with pytest.raises(LaunchError, match="has no executable 'nope'"):
        installed_executable("sim2real_sim", "nope")
    with pytest.raises(LaunchError, match="package 'no_such_package' not found"):
        installed_executable("no_such_package", "x")


def test_missing_parameter_file_fails_before_anything_starts(tmp_path):
    spec = NodeSpec("fixtures", "talker", "talker", "/", (tmp_path / "missing.yaml",), {})
    with pytest.raises(LaunchError, match="missing.yaml not found"):
        Launcher([spec], find_executable=fixture_script).run()


def test_exit_code_of_a_signalled_process():
    assert exit_code(-signal.SIGINT) == 130
    assert exit_code(2) == 2
