from pathlib import Path

import pytest
from ament_index_python.packages import get_package_share_directory

from sim2real_bringup.errors import ArgumentError, LaunchError
from sim2real_bringup.graph import NodeSpec, coerce, graph_for_launch_file, graphs_dir
from sim2real_bringup.graph_file import load_graph

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def graph():
    return load_graph(FIXTURES / "talk_listen.yaml")


def test_defaults_and_typed_overrides(graph):
    listener, talker = graph.resolve({"fixtures": "/f", "count": "7", "listener_fails": "true"})
    assert talker == NodeSpec(
        package="fixtures", executable="talker", name="talker", namespace="/fixture",
        parameter_files=(Path("/f/talker.yaml"),), parameters={"count": 7, "exit_code": 0},
        shutdown_on_exit=True)
    assert listener.parameters == {"out": "heard.json", "fail": True, "ignore_sigint": False}
    assert listener.remappings == (("heard", "chatter"),)
    assert listener.full_name == "/fixture/listener"


def test_string_arguments_stay_strings(graph):
    (listener, _) = graph.resolve({"heard": "10"})
    assert listener.parameters["out"] == "10"
    (listener, _) = graph.resolve({"heard": ""})
    assert listener.parameters["out"] == ""


def test_find_resolves_through_the_ament_index():
    spec = load_graph(graph_for_launch_file("eval_sim.launch.py", graphs_dir("so101"))).resolve({})[0]
    share = get_package_share_directory("so101")
    assert spec.parameter_files == (Path(share, "config", "so101_sim.yaml"),)


def test_unknown_package_in_find(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("description: d\nnodes:\n  - {package: p, executable: e, name: n, "
                    "parameters: [$(find no_such_package)/x.yaml]}\n")
    with pytest.raises(LaunchError, match="package 'no_such_package' not found"):
        load_graph(path).resolve({})


def test_unknown_argument_names_it_and_lists_the_accepted_ones(graph):
    with pytest.raises(ArgumentError) as caught:
        graph.resolve({"count": "2", "foo": "1"})
    message = str(caught.value)
    assert "talk_listen.launch.py has no argument 'foo'" in message
    for argument in graph.arguments.values():
        assert f"{argument.name}:=" in message and argument.description in message
    assert "listener_fails:=true|false  (default: 'false')" in message
    assert "count:=<int>  (default: '5')" in message


@pytest.mark.parametrize("given, message", [
    ({"count": "five"}, "argument count:=five: expected an integer, got 'five'"),
    ({"count": "1.5"}, "expected an integer"),
    ({"listener_fails": "True"}, "argument listener_fails:=True: expected one of true, false"),
])
def test_bad_values(graph, given, message):
    with pytest.raises(ArgumentError, match=message.replace("(", r"\(")):
        graph.resolve(given)


def test_coerce():
    assert coerce("3", "int") == 3 and coerce("3", "float") == 3.0 and coerce("false", "bool") is False
    assert coerce("3", "str") == "3"
    with pytest.raises(ValueError, match="expected a number"):
        coerce("x", "float")


def test_launch_file_lookup(tmp_path):
    (tmp_path / "a.yaml").write_text("")
    (tmp_path / "b.yaml").write_text("")
    assert graph_for_launch_file("launch/a.launch.py", tmp_path) == tmp_path / "a.yaml"
    for unknown in ("c.launch.py", "a.yaml", "a"):
        with pytest.raises(ArgumentError, match="available: a.launch.py, b.launch.py"):
            graph_for_launch_file(unknown, tmp_path)


def test_installed_graphs_are_found_by_launch_file_name():
    path = graph_for_launch_file("eval_sim.launch.py", graphs_dir("so101"))
    assert path == Path(get_package_share_directory("so101"), "config", "graphs", "eval_sim.yaml")
    with pytest.raises(ArgumentError, match="unknown launch file 'nope.launch.py'.*eval_sim.launch.py"):
        graph_for_launch_file("nope.launch.py", graphs_dir("so101"))
