"""launch/eval_sim.launch.py and `sim2real launch so101 eval_sim.launch.py` start the same graph.

With launch_ros installed the real LaunchDescription is checked; without it (this machine) the
launch file runs against the recording test double in fake_launch.py.
"""

import ast
import importlib.util
import subprocess
from pathlib import Path

import pytest
import yaml
from ament_index_python.packages import get_package_share_directory

import fake_launch
from sim2real_bringup.errors import ArgumentError, LaunchError
from sim2real_bringup.graph import graph_for_launch_file, graphs_dir
from sim2real_bringup.graph_file import load_graph
from sim2real_bringup.launcher import installed_executable, node_command

WORKSPACE = Path(__file__).resolve().parents[2]
INSTALLED = Path(get_package_share_directory("so101")) / "launch" / "eval_sim.launch.py"
ARGUMENT_SETS = [
    {},
    {"n_episodes": "3", "seed": "7", "policy": "/tmp/policy", "report": "out.json",
     "record_video": "true", "mode": "realtime"},
]


@pytest.fixture
def graph():
    return load_graph(graph_for_launch_file("eval_sim.launch.py", graphs_dir("so101")))


@pytest.fixture
def fake_entities(monkeypatch):
    fake_launch.install(monkeypatch)
    return generate_launch_description().entities


def generate_launch_description():
    """Load the installed launch file as `ros2 launch so101 eval_sim.launch.py` does."""
    spec = importlib.util.spec_from_file_location("eval_sim_launch", INSTALLED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def of_type(entities, cls):
    return [e for e in entities if isinstance(e, cls)]


def test_launch_file_is_a_shim_over_the_shared_description():
    source = WORKSPACE / "src" / "robots" / "so101" / "launch" / "eval_sim.launch.py"
    assert INSTALLED.resolve() == source.resolve()
    tree = ast.parse(source.read_text())
    assert not of_type(tree.body, (ast.Import, ast.ImportFrom)), "launch/launch_ros must be imported lazily"
    (function,) = of_type(tree.body, ast.FunctionDef)
    assert function.name == "generate_launch_description"
    imports = [(n.module, [a.name for a in n.names]) for n in of_type(ast.walk(function), ast.ImportFrom)]
    assert imports == [("sim2real_bringup.launch_description", ["launch_description_for"])]
    assert ast.unparse(function.body[-1]) == "return launch_description_for(__file__)"


def test_declared_arguments_are_the_graph_arguments(fake_entities, graph):
    declared = of_type(fake_entities, fake_launch.DeclareLaunchArgument)
    assert [d.name for d in declared] == ["n_episodes", "seed", "policy", "scene", "max_steps", "report", "record_video", "whiskers", "mode"]
    assert [(d.name, d.kwargs) for d in declared] == [
        (a.name, {"default_value": a.default, "description": a.description,
                  **({"choices": list(a.choices)} if a.choices else {})})
        for a in graph.arguments.values()]


@pytest.mark.parametrize("given", ARGUMENT_SETS)
def test_nodes_are_the_ones_so101_launch_starts(fake_entities, graph, given):
    values = fake_launch.configurations(of_type(fake_entities, fake_launch.DeclareLaunchArgument), given)
    handlers = {id(h.args[0].kwargs["target_action"]): h.args[0]
                for h in of_type(fake_entities, fake_launch.RegisterEventHandler)}
    launched = [fake_launch.evaluate_node(node, handlers[id(node)], values)
                for node in of_type(fake_entities, fake_launch.Node)]
    assert launched == graph.resolve(given)


def test_parameters_are_typed(graph):
    sim, policy, evaluator = graph.resolve(ARGUMENT_SETS[1])
    assert [(n.package, n.executable, n.full_name) for n in (sim, policy, evaluator)] == [
        ("sim2real_sim", "sim_bridge", "/so101/sim"), ("sim2real_policy", "policy_node", "/so101/policy"),
        ("sim2real_sim", "evaluator", "/so101/evaluator")]
    assert sim.parameters == {"scene": "so101_pick_place", "seed": 7, "max_steps": 300, "mode": "realtime", "publish_video": True, "whiskers": False}
    assert policy.parameters == {"policy": "/tmp/policy", "scene": "so101_pick_place", "mode": "realtime",
                                 "use_sim_time": True}
    assert evaluator.parameters == {"scene": "so101_pick_place", "n_episodes": 3, "report": "out.json",
                                    "record_video": True}
    assert evaluator.shutdown_on_exit and not sim.shutdown_on_exit and not policy.shutdown_on_exit


def test_graph_ends_with_the_evaluator_or_a_failure(fake_entities):
    handlers = {h.args[0].kwargs["target_action"].kwargs["name"]: h.args[0]
                for h in of_type(fake_entities, fake_launch.RegisterEventHandler)}
    assert set(handlers) == {"sim", "policy", "evaluator"}
    running, stopping = fake_launch.Context(), fake_launch.Context(is_shutdown=True)
    ok, failed, interrupted = (fake_launch.ProcessExited(code) for code in (0, 2, 130))
    assert fake_launch.ends_the_launch(handlers["evaluator"], ok, running)
    for name in ("sim", "policy"):
        assert not fake_launch.ends_the_launch(handlers[name], ok, running)
    for name, handler in handlers.items():
        # ros2 launch reports a raising handler as one error line, shuts down and returns 1.
        with pytest.raises(LaunchError, match=f"^{name}: exited with code 2; shutting down$"):
            handler.kwargs["on_exit"](failed, running)
        handler.kwargs["on_exit"](interrupted, stopping)  # ended by the shutdown's SIGINT: no error


def test_undeclared_or_bad_arguments_stop_the_launch_before_any_node(fake_entities, graph):
    check = fake_entities[0]
    assert isinstance(check, fake_launch.OpaqueFunction), "the check runs before the nodes start"
    with pytest.raises(ArgumentError) as caught:
        check.function(fake_launch.Context(argv=["n_episodes:=1", "episodes:=3"],
                                           launch_configurations={"n_episodes": "1", "episodes": "3"}))
    assert str(caught.value).startswith("eval_sim.launch.py has no argument 'episodes'; accepted arguments")
    assert all(f"{name}:=" in str(caught.value) for name in graph.arguments)
    with pytest.raises(ArgumentError, match="argument n_episodes:=three: expected an integer"):
        check.function(fake_launch.Context(launch_configurations={"n_episodes": "three"}))
    with pytest.raises(ArgumentError, match="argument mode:=fast: expected one of lockstep, realtime"):
        check.function(fake_launch.Context(argv=["mode:=fast"], launch_configurations={"mode": "fast"}))


def test_accepted_arguments_pass_the_check(fake_entities):
    check = fake_entities[0].function
    argv = ["n_episodes:=3", "record_video:=true", "launch-prefix:=xterm -e"]  # ros2 launch --launch-prefix
    assert check(fake_launch.Context(argv=argv, launch_configurations=dict(a.split(":=") for a in argv))) is None
    # An including launch file's own configurations are not the command line: not checked.
    assert check(fake_launch.Context(launch_configurations={"robot": "so101", "seed": "4"})) is None


def test_so101_launch_commands(graph, tmp_path):
    share = Path(get_package_share_directory("so101"))
    for spec in graph.resolve({}):
        command = node_command(spec, installed_executable(spec.package, spec.executable), tmp_path / "o.yaml")
        assert command[1:6] == ["--ros-args", "-r", f"__node:={spec.name}", "-r", "__ns:=/so101"]
        config = {"sim": "so101_sim", "policy": "so101_policy", "evaluator": "so101_eval"}[spec.name]
        assert command[6:] == ["--params-file", str(share / "config" / f"{config}.yaml"),
                               "--params-file", str(tmp_path / "o.yaml")]


def test_so101_command_rejects_an_unknown_argument(graph):
    result = subprocess.run([str(WORKSPACE / "sim2real"), "launch", "so101", "eval_sim.launch.py", "foo:=1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "eval_sim.launch.py has no argument 'foo'" in result.stderr
    for argument in graph.arguments.values():
        assert f"{argument.name}:=" in result.stderr and argument.description in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="launch_ros is not installed")
@pytest.mark.parametrize("given", ARGUMENT_SETS)
def test_real_launch_description(graph, given):
    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument
    from launch_ros.actions import Node

    entities = generate_launch_description().entities
    context = LaunchContext()
    context.launch_configurations.update(given)
    for declared in of_type(entities, DeclareLaunchArgument):
        declared.execute(context)  # fills in defaults, checks choices
    for node, expected in zip(of_type(entities, Node), graph.resolve(given), strict=True):
        node._perform_substitutions(context)  # what Node.execute does before starting the process
        files, overrides = [], {}
        for argument, is_file in node._Node__expanded_parameter_arguments:
            assert is_file
            if Path(argument).name.startswith("launch_params_"):  # a parameter dict, as a temp file
                (rules,) = yaml.safe_load(Path(argument).read_text()).values()
                overrides.update(rules["ros__parameters"])
            else:
                files.append(Path(argument))
        assert (node.node_package, node.node_executable) == (expected.package, expected.executable)
        assert (node.node_name, node.expanded_node_namespace) == (expected.full_name, expected.namespace)
        assert (tuple(files), overrides) == (expected.parameter_files, expected.parameters)
        assert tuple(node.expanded_remapping_rules or ()) == expected.remappings


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="launch_ros is not installed")
def test_real_launch_rejects_an_undeclared_argument():
    from launch import LaunchContext
    from launch.actions import OpaqueFunction

    (check,) = of_type(generate_launch_description().entities, OpaqueFunction)
    context = LaunchContext(argv=["n_episodes:=1", "episodes:=3"])
    context.launch_configurations.update({"n_episodes": "1", "episodes": "3"})  # as ros2 launch sets them
    with pytest.raises(ArgumentError, match="eval_sim.launch.py has no argument 'episodes'"):
        check.execute(context)
