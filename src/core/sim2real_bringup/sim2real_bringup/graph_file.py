"""Read and validate a graph file (format: see `sim2real_bringup.graph`). Every problem is a
GraphError naming the file and the field, e.g. ``eval_sim.yaml: nodes[2].parameters[1].seed: ...``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sim2real_bringup.errors import GraphError
from sim2real_bringup.graph import BOOL_CHOICES, SCALAR_TYPES, Argument, Graph, NodeDescription, Override
from sim2real_bringup.substitution import Template

_TOP_KEYS = {"description", "arguments", "namespace", "nodes"}
_ARGUMENT_KEYS = {"default", "description", "type", "choices"}
_NODE_KEYS = {"package", "executable", "name", "namespace", "parameters", "remappings", "on_exit"}
_ON_EXIT = ("shutdown",)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def load_graph(path: Path | str) -> Graph:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise GraphError(path, "<file>", f"cannot read: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise GraphError(path, "<file>", f"malformed YAML: {err}") from None
    return _Parser(path).graph(data)


class _Parser:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.arguments: dict[str, Argument] = {}

    def error(self, field: str, problem: str) -> GraphError:
        return GraphError(self.path, field, problem)

    # -- generic checks ---------------------------------------------------------------------
    def mapping(self, data: Any, field: str, keys: set[str] | None = None) -> dict:
        if not isinstance(data, dict):
            raise self.error(field, f"expected a mapping, found {_kind(data)}")
        unknown = sorted(set(map(str, data)) - keys) if keys is not None else []
        if unknown:
            raise self.error(f"{field}.{unknown[0]}" if field else unknown[0],
                             f"unknown key; expected one of {', '.join(sorted(keys))}")
        return data

    def string(self, data: dict, key: str, field: str, default: str | None = None) -> str:
        if key not in data:
            if default is None:
                raise self.error(_join(field, key), "missing (required)")
            return default
        value = data[key]
        if not isinstance(value, str) or not value:
            raise self.error(_join(field, key), f"expected a non-empty string, found {_kind(value)}")
        return value

    def template(self, text: Any, field: str) -> Template:
        if not isinstance(text, str):
            raise self.error(field, f"expected a string, found {_kind(text)}")
        try:
            template = Template.parse(text)
        except ValueError as err:
            raise self.error(field, str(err)) from None
        for name in template.variables:
            if name not in self.arguments:
                raise self.error(field, f"$(var {name}) names no argument; arguments: "
                                        f"{', '.join(self.arguments) or 'none'}")
        return template

    # -- graph --------------------------------------------------------------------------------
    def graph(self, data: Any) -> Graph:
        root = self.mapping(data, "", _TOP_KEYS)
        description = self.string(root, "description", "")
        arguments = self.mapping(root.get("arguments", {}), "arguments")
        self.arguments = {name: self.argument(name, spec) for name, spec in arguments.items()}
        namespace = self.template(root.get("namespace", ""), "namespace")
        nodes = root.get("nodes")
        if not isinstance(nodes, list) or not nodes:
            raise self.error("nodes", f"expected a non-empty list of nodes, found {_kind(nodes)}")
        described = tuple(self.node(node, f"nodes[{i}]", namespace) for i, node in enumerate(nodes))
        seen: set[tuple] = set()
        for i, node in enumerate(described):
            if (node.namespace, node.name) in seen:
                raise self.error(f"nodes[{i}].name", f"a second node named {node.name!r} in the same namespace")
            seen.add((node.namespace, node.name))
        return Graph(self.path, description, self.arguments, described)

    def argument(self, name: Any, spec: Any) -> Argument:
        field = f"arguments.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.error(field, "an argument name is letters, digits and underscores")
        spec = self.mapping(spec, field, _ARGUMENT_KEYS)
        type_name = spec.get("type", "str")
        if type_name not in SCALAR_TYPES:
            raise self.error(f"{field}.type", f"expected one of {', '.join(SCALAR_TYPES)}, found {type_name!r}")
        choices = spec.get("choices")
        if choices is not None:
            if not isinstance(choices, list) or not choices or not all(_is_scalar(c) for c in choices):
                raise self.error(f"{field}.choices", "expected a non-empty list of values")
            choices = tuple(_argument_string(c) for c in choices)
        if type_name == "bool":
            if choices not in (None, BOOL_CHOICES):
                raise self.error(f"{field}.choices", "a bool argument takes exactly true or false; drop 'choices'")
            choices = BOOL_CHOICES
        if "default" not in spec or not _is_scalar(spec["default"]):
            raise self.error(f"{field}.default", "missing (required): a string, number or true/false")
        argument = Argument(name, _argument_string(spec["default"]), self.string(spec, "description", field),
                            type_name, choices)
        try:
            argument.value(argument.default)
        except ValueError as err:
            raise self.error(f"{field}.default", str(err)) from None
        return argument

    # -- nodes --------------------------------------------------------------------------------
    def node(self, data: Any, field: str, graph_namespace: Template) -> NodeDescription:
        node = self.mapping(data, field, _NODE_KEYS)
        name = self.string(node, "name", field)
        if not _NAME.match(name):
            raise self.error(f"{field}.name", f"{name!r} is not a valid ROS node name")
        on_exit = node.get("on_exit")
        if on_exit is not None and on_exit not in _ON_EXIT:
            raise self.error(f"{field}.on_exit", f"expected {' or '.join(_ON_EXIT)}, found {on_exit!r}")
        files, overrides = self.parameters(node.get("parameters", []), f"{field}.parameters")
        namespace = self.template(node["namespace"], f"{field}.namespace") if "namespace" in node else graph_namespace
        return NodeDescription(
            package=self.string(node, "package", field),
            executable=self.string(node, "executable", field),
            name=name,
            namespace=namespace,
            parameter_files=files,
            parameters=overrides,
            remappings=self.remappings(node.get("remappings", {}), f"{field}.remappings"),
            shutdown_on_exit=on_exit == "shutdown",
        )

    def parameters(self, data: Any, field: str) -> tuple[tuple[Template, ...], dict[str, Override]]:
        if not isinstance(data, list):
            raise self.error(field, f"expected a list of parameter files and mappings, found {_kind(data)}")
        files: list[Template] = []
        overrides: dict[str, Override] = {}
        for i, entry in enumerate(data):
            if isinstance(entry, str):
                if overrides:
                    raise self.error(f"{field}[{i}]", "parameter files come before parameter mappings")
                files.append(self.template(entry, f"{field}[{i}]"))
            else:
                for name, value in self.mapping(entry, f"{field}[{i}]").items():
                    overrides[str(name)] = self.override(value, f"{field}[{i}].{name}")
        return tuple(files), overrides

    def override(self, value: Any, field: str) -> Override:
        if isinstance(value, str):
            template = self.template(value, field)
            if template.is_literal:
                return Override(value, "str")
            variable = template.single_variable
            return Override(template, self.arguments[variable].type if variable else "str")
        if _is_scalar(value):
            return Override(value, type(value).__name__)
        if isinstance(value, list) and value and all(_is_scalar(v) for v in value):
            item_types = {type(v) for v in value}
            if len(item_types) == 1 and not any(isinstance(v, str) and "$(" in v for v in value):
                return Override(tuple(value), item_types.pop().__name__)
        raise self.error(field, "expected a value, a string with $(var ...)/$(find ...) or a non-empty "
                                f"list of literals of one type, found {_kind(value)} {value!r}")

    def remappings(self, data: Any, field: str) -> tuple[tuple[Template, Template], ...]:
        rules = self.mapping(data, field)
        return tuple((self.template(source, f"{field}.{source}"), self.template(target, f"{field}.{source}"))
                     for source, target in rules.items())


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str))


def _argument_string(value: bool | int | float | str) -> str:
    """Launch arguments are strings; a YAML `false` or `10` in the graph file is written as
    the string a user would type (``false``, ``10``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__

