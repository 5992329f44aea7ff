from pathlib import Path

import pytest

from sim2real_bringup.errors import GraphError
from sim2real_bringup.graph_file import load_graph
from sim2real_bringup.substitution import Template

FIXTURES = Path(__file__).parent / "fixtures"

MINIMAL = """
description: d
arguments:
  n: {default: 10, type: int, description: count}
  flag: {default: false, type: bool, description: a switch}
nodes:
  - {package: p, executable: e, name: a}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "graph.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> GraphError:
    path = write(tmp_path, text)
    with pytest.raises(GraphError) as caught:
        load_graph(path)
    assert caught.value.path == path
    return caught.value


def test_fixture_graph_parses():
    graph = load_graph(FIXTURES / "talk_listen.yaml")
    assert list(graph.arguments) == ["fixtures", "count", "exit_code", "heard", "listener_fails",
                                     "listener_ignores_sigint"]
    listener, talker = graph.nodes
    assert listener.namespace == Template.parse("fixture")
    assert listener.remappings == ((Template.parse("heard"), Template.parse("chatter")),)
    assert talker.parameter_files == (Template.parse("$(var fixtures)/talker.yaml"),)
    assert talker.parameters["count"].value_type == "int"
    assert talker.shutdown_on_exit and not listener.shutdown_on_exit


def test_yaml_scalars_as_defaults_become_argument_strings(tmp_path):
    graph = load_graph(write(tmp_path, MINIMAL))
    assert graph.arguments["n"].default == "10"
    assert graph.arguments["flag"].default == "false"
    assert graph.arguments["flag"].choices == ("true", "false")


def test_override_types(tmp_path):
    graph = load_graph(write(tmp_path, MINIMAL.replace(
        "name: a}", "name: a, parameters: [{i: $(var n), b: $(var flag), s: n=$(var n), lit: 2.5, "
                    "word: 'true', names: [x, y]}]}")))
    overrides = graph.nodes[0].parameters
    assert {k: v.value_type for k, v in overrides.items()} == {
        "i": "int", "b": "bool", "s": "str", "lit": "float", "word": "str", "names": "str"}
    assert overrides["names"].value == ("x", "y")
    assert overrides["word"].value == "true"


def test_malformed_yaml_names_the_file(tmp_path):
    error = error_of(tmp_path, "nodes: [\n  - {package: p\n")
    assert error.field == "<file>" and "malformed YAML" in str(error) and str(error.path) in str(error)


def test_missing_file(tmp_path):
    with pytest.raises(GraphError, match="cannot read"):
        load_graph(tmp_path / "absent.yaml")


@pytest.mark.parametrize("edit, field, problem", [
    (("{package: p, ", "{"), "nodes[0].package", "missing"),
    (("description: d\n", ""), "description", "missing"),
    (("description: count", "descr: count"), "arguments.n.descr", "unknown key"),
    (("default: 10, ", ""), "arguments.n.default", "missing"),
    (("default: 10", "default: ten"), "arguments.n.default", "expected an integer"),
    (("type: int", "type: integer"), "arguments.n.type", "expected one of"),
    (("type: bool", "type: bool, choices: [enabled, disabled]"), "arguments.flag.choices", "exactly true or false"),
    (("name: a}", "name: a, on_exit: restart}"), "nodes[0].on_exit", "expected shutdown"),
    (("name: a}", "name: a-b}"), "nodes[0].name", "not a valid ROS node name"),
    (("name: a}", "name: a, parameters: [{x: $(var nope)}]}"), "nodes[0].parameters[0].x", "$(var nope) names no argument"),
    (("name: a}", "name: a, parameters: [{x: {y: 1}}]}"), "nodes[0].parameters[0].x", "expected a value"),
    (("name: a}", "name: a, parameters: [{x: 1}, f.yaml]}"), "nodes[0].parameters[1]", "files come before"),
    (("name: a}", "name: a, parameters: f.yaml}"), "nodes[0].parameters", "expected a list"),
    (("name: a}", "name: a, remappings: [a, b]}"), "nodes[0].remappings", "expected a mapping"),
    (("nodes:\n  - {package: p, executable: e, name: a}", "nodes: []"), "nodes", "non-empty list"),
    (("nodes:", "namespace: $(env X)\nnodes:"), "namespace", "unknown substitution"),
])
def test_errors_name_file_and_field(tmp_path, edit, field, problem):
    old, new = edit
    assert old in MINIMAL
    error = error_of(tmp_path, MINIMAL.replace(old, new, 1))
    assert error.field == field
    assert problem in error.problem
    assert str(error).startswith(f"{error.path}: {field}: ")


def test_duplicate_node_names(tmp_path):
    error = error_of(tmp_path, MINIMAL + "  - {package: p, executable: e2, name: a}\n")
    assert error.field == "nodes[1].name" and "a second node named 'a'" in error.problem
