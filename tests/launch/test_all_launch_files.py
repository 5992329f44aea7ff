"""Every launch file is a shim over its graph description: declared arguments and launched nodes
(as ros2 launch would build them, via the launch test double here) equal what `sim2real launch`
resolves from config/graphs/<name>.yaml."""

import ast
import importlib.util
from pathlib import Path

import pytest

import fake_launch
from sim2real_bringup.errors import ArgumentError, LaunchError
from sim2real_bringup.graph import graph_for_launch_file, graphs_dir
from sim2real_bringup.graph_file import load_graph

WORKSPACE = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted(p.name for p in (WORKSPACE / "src" / "robots" / "so101" / "launch").glob("*.launch.py"))


def test_there_are_launch_files():
    assert {"eval_sim.launch.py", "record_sim.launch.py"} <= set(LAUNCH_FILES)


@pytest.mark.parametrize("name", LAUNCH_FILES)
def test_launch_file_matches_its_graph(name, monkeypatch):
    source = WORKSPACE / "src" / "robots" / "so101" / "launch" / name
    tree = ast.parse(source.read_text())
    assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))], "import launch lazily"
    graph = load_graph(graph_for_launch_file(name, graphs_dir("so101")))

    fake_launch.install(monkeypatch)
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    entities = module.generate_launch_description().entities
    declared = [e for e in entities if isinstance(e, fake_launch.DeclareLaunchArgument)]
    assert [d.name for d in declared] == list(graph.arguments)
    values = fake_launch.configurations(declared, {})
    handlers = {id(h.args[0].kwargs["target_action"]): h.args[0]
                for h in entities if isinstance(h, fake_launch.RegisterEventHandler)}
    nodes = [e for e in entities if isinstance(e, fake_launch.Node)]
    assert [fake_launch.evaluate_node(n, handlers[id(n)], values) for n in nodes] == graph.resolve({})


@pytest.mark.parametrize("name", LAUNCH_FILES)
def test_launch_file_is_strict(name, monkeypatch):
    """An undeclared argument stops the launch before any node; a failing node fails it."""
    graph = load_graph(graph_for_launch_file(name, graphs_dir("so101")))
    fake_launch.install(monkeypatch)
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), WORKSPACE / "src" / "robots" / "so101" / "launch" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    entities = module.generate_launch_description().entities
    assert isinstance(entities[0], fake_launch.OpaqueFunction)
    with pytest.raises(ArgumentError, match=f"{name} has no argument 'no_such_argument'"):
        entities[0].function(fake_launch.Context(argv=["no_such_argument:=1"]))
    handlers = [h.args[0] for h in entities if isinstance(h, fake_launch.RegisterEventHandler)]
    assert len(handlers) == len(graph.nodes)
    for handler, node in zip(handlers, graph.nodes, strict=True):
        with pytest.raises(LaunchError, match=f"^{node.name}: exited with code 1"):
            handler.kwargs["on_exit"](fake_launch.ProcessExited(1), fake_launch.Context())
        assert fake_launch.ends_the_launch(handler, fake_launch.ProcessExited(0), fake_launch.Context()) \
            == node.shutdown_on_exit
    assert any(node.shutdown_on_exit for node in graph.nodes), "a required node ends the graph"
