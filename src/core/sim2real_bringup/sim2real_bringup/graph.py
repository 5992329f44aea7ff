"""Graph descriptions: the one description of a ROS graph that both a ROS 2 launch file
(through `sim2real_bringup.launch_description`) and `sim2real launch` (through
`sim2real_bringup.launcher`) start.

One YAML file per launch file, ``config/graphs/<name>.yaml`` for ``<name>.launch.py``::

    description: what the graph does
    arguments:                  # launch arguments, passed as name:=value
      seed: {default: "0", type: int, description: ...}        # type: str (default) | int | float | bool
      mode: {default: lockstep, choices: [lockstep, realtime], description: ...}
    namespace: so101            # of every node (a node may set its own)
    nodes:
      - package: sim2real_sim
        executable: sim_bridge
        name: sim
        parameters:             # files first, then overrides; later entries win
          - $(find so101)/config/so101_sim.yaml
          - {seed: $(var seed), mode: $(var mode)}
        remappings: {joint_commands: /other/joint_commands}
        on_exit: shutdown       # required: the graph ends when this node ends

Any node that exits with an error while the graph runs ends the graph with a non-zero exit code
(`sim2real launch`: the node's code; ``ros2 launch``: 1), a required node's error included.

A parameter that is exactly ``$(var x)`` gets the type of argument ``x``; text mixed with
substitutions is a string; literals keep their YAML type. `sim2real_bringup.graph_file` reads
and validates the file; `Graph.resolve` turns ``name:=value`` arguments into `NodeSpec`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

from sim2real_bringup.errors import ArgumentError, LaunchError
from sim2real_bringup.substitution import Template

SCALAR_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}
BOOL_CHOICES = ("true", "false")
LAUNCH_SUFFIX = ".launch.py"

Scalar = bool | int | float | str
ParameterValue = Scalar | list[Scalar]
FindShare = Callable[[str], str]


def coerce(raw: str, type_name: str) -> Scalar:
    """Convert an argument string to `type_name` the way launch_ros' ParameterValue does."""
    if type_name == "bool":
        if raw not in BOOL_CHOICES:
            raise ValueError(f"expected true or false, got {raw!r}")
        return raw == "true"
    if type_name in ("int", "float"):
        try:
            return SCALAR_TYPES[type_name](raw)
        except ValueError:
            expected = "an integer" if type_name == "int" else "a number"
            raise ValueError(f"expected {expected}, got {raw!r}") from None
    return raw


@dataclass(frozen=True)
class Argument:
    name: str
    default: str
    description: str
    type: str = "str"
    choices: tuple[str, ...] | None = None

    def value(self, raw: str) -> Scalar:
        """The typed value of `raw`; ValueError says what was expected."""
        if self.choices is not None and raw not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {raw!r}")
        return coerce(raw, self.type)

    @property
    def placeholder(self) -> str:
        return "|".join(self.choices) if self.choices else f"<{self.type}>"


@dataclass(frozen=True)
class Override:
    """A parameter set by the graph: a literal (a list is a tuple) or a template whose
    rendering is converted to `value_type` (for a list, the type of its items)."""

    value: Scalar | tuple[Scalar, ...] | Template
    value_type: str

    def resolve(self, values: Mapping[str, str], find_share: FindShare) -> ParameterValue:
        if isinstance(self.value, Template):
            return coerce(self.value.render(values, find_share), self.value_type)
        return list(self.value) if isinstance(self.value, tuple) else self.value


@dataclass(frozen=True)
class NodeSpec:
    """A node ready to start: every substitution resolved, parameters typed."""

    package: str
    executable: str
    name: str
    namespace: str  # absolute, e.g. /so101
    parameter_files: tuple[Path, ...]
    parameters: dict[str, ParameterValue]
    remappings: tuple[tuple[str, str], ...] = ()
    shutdown_on_exit: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.namespace.rstrip('/')}/{self.name}"


@dataclass(frozen=True)
class NodeDescription:
    package: str
    executable: str
    name: str
    namespace: Template
    parameter_files: tuple[Template, ...] = ()
    parameters: dict[str, Override] = field(default_factory=dict)
    remappings: tuple[tuple[Template, Template], ...] = ()
    shutdown_on_exit: bool = False

    def resolve(self, values: Mapping[str, str], find_share: FindShare) -> NodeSpec:
        def render(template: Template) -> str:
            return template.render(values, find_share)

        return NodeSpec(
            package=self.package,
            executable=self.executable,
            name=self.name,
            namespace=absolute_namespace(render(self.namespace)),
            parameter_files=tuple(Path(render(t)) for t in self.parameter_files),
            parameters={k: v.resolve(values, find_share) for k, v in self.parameters.items()},
            remappings=tuple((render(a), render(b)) for a, b in self.remappings),
            shutdown_on_exit=self.shutdown_on_exit,
        )


@dataclass(frozen=True)
class Graph:
    path: Path
    description: str
    arguments: dict[str, Argument]
    nodes: tuple[NodeDescription, ...]

    @property
    def launch_file(self) -> str:
        return self.path.stem + LAUNCH_SUFFIX

    def argument_values(self, given: Mapping[str, str]) -> dict[str, str]:
        """Every argument's string value (`given` or the default), validated."""
        for name, raw in given.items():
            if name not in self.arguments:
                raise ArgumentError(f"{self.launch_file} has no argument {name!r}; accepted arguments "
                                    f"(name:=value):\n{self.describe_arguments()}")
            try:
                self.arguments[name].value(raw)
            except ValueError as err:
                raise ArgumentError(f"argument {name}:={raw}: {err}") from None
        return {name: given.get(name, arg.default) for name, arg in self.arguments.items()}

    def resolve(self, given: Mapping[str, str], find_share: FindShare | None = None) -> list[NodeSpec]:
        """The nodes to start for the arguments `given` (name -> string value)."""
        values = self.argument_values(given)
        return [node.resolve(values, find_share or package_share) for node in self.nodes]

    def describe_arguments(self) -> str:
        return "\n".join(f"  {a.name}:={a.placeholder}  (default: {a.default!r})\n      {a.description}"
                         for a in self.arguments.values())


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["seed:=3", "report:="]`` -> ``{"seed": "3", "report": ""}``; the last one wins."""
    values: dict[str, str] = {}
    for item in items:
        name, separator, value = item.partition(":=")
        if not separator or not name:
            raise ArgumentError(f"expected a launch argument as name:=value, got {item!r}")
        values[name] = value
    return values


def absolute_namespace(namespace: str) -> str:
    return "/" + namespace.strip("/")


def package_share(package: str) -> str:
    """A package's share directory (the value of ``$(find package)``)."""
    try:
        return get_package_share_directory(package)
    except PackageNotFoundError:
        raise LaunchError(f"package {package!r} not found: build the workspace (scripts/setup.sh) "
                          "and source scripts/env.sh") from None


def graphs_dir(package: str) -> Path:
    """Where a package's launch files keep their graphs: ``share/<package>/config/graphs``."""
    return Path(package_share(package)) / "config" / "graphs"


def graph_for_launch_file(launch_file: str, graphs: Path) -> Path:
    """The graph file of a launch file name (``eval_sim.launch.py`` -> ``graphs/eval_sim.yaml``)."""
    name = Path(launch_file).name
    stem = name.removesuffix(LAUNCH_SUFFIX)
    path = graphs / f"{stem}.yaml"
    if name.endswith(LAUNCH_SUFFIX) and path.is_file():
        return path
    available = sorted(p.stem + LAUNCH_SUFFIX for p in graphs.glob("*.yaml"))
    raise ArgumentError(f"unknown launch file {name!r} (no graph {path}); available: "
                        f"{', '.join(available) or 'none'}")
