"""Test double of `launch` / `launch_ros` (not installable on this machine).

`install` puts modules into sys.modules whose classes only record their constructor arguments;
`evaluate_node` then performs a recorded Node's substitutions for given launch configurations
the way launch_ros would (LaunchConfiguration, FindPackageShare, ParameterValue's value_type,
absolute namespace), giving the NodeSpec the node would start as. `Context` and `ProcessExited`
stand for what launch passes to an OpaqueFunction and an OnProcessExit handler.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from ament_index_python.packages import get_package_share_directory

from sim2real_bringup.graph import NodeSpec


class Recorded:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs


class LaunchDescription(Recorded):
    @property
    def entities(self) -> list:
        return self.args[0]


class DeclareLaunchArgument(Recorded):
    @property
    def name(self) -> str:
        return self.args[0]


class RegisterEventHandler(Recorded):
    pass


class OnProcessExit(Recorded):
    pass


class Shutdown(Recorded):
    pass


class OpaqueFunction(Recorded):
    @property
    def function(self):
        return self.kwargs["function"]


@dataclass
class Context:
    """The parts of launch.LaunchContext the graph's functions read."""

    argv: list[str] = field(default_factory=list)  # the ros2 launch command line's name:=value
    launch_configurations: dict[str, str] = field(default_factory=dict)
    is_shutdown: bool = False


@dataclass
class ProcessExited:
    returncode: int


class LaunchConfiguration(Recorded):
    pass


class TextSubstitution(Recorded):
    pass


class Node(Recorded):
    pass


class ParameterValue(Recorded):
    pass


class FindPackageShare(Recorded):
    pass


MODULES: dict[str, list[type]] = {
    "launch": [LaunchDescription],
    "launch.actions": [DeclareLaunchArgument, OpaqueFunction, RegisterEventHandler, Shutdown],
    "launch.event_handlers": [OnProcessExit],
    "launch.substitutions": [LaunchConfiguration, TextSubstitution],
    "launch_ros": [],
    "launch_ros.actions": [Node],
    "launch_ros.parameter_descriptions": [ParameterValue],
    "launch_ros.substitutions": [FindPackageShare],
}


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, classes in MODULES.items():
        module = types.ModuleType(name)
        for cls in classes:
            setattr(module, cls.__name__, cls)
        monkeypatch.setitem(sys.modules, name, module)


def perform(substitutions: list, configurations: dict[str, str]) -> str:
    def one(substitution: Recorded) -> str:
        if isinstance(substitution, LaunchConfiguration):
            return configurations[substitution.args[0]]
        if isinstance(substitution, FindPackageShare):
            return get_package_share_directory(substitution.args[0])
        assert isinstance(substitution, TextSubstitution)
        return substitution.kwargs["text"]

    return "".join(one(s) for s in substitutions)


def coerce(text: str, value_type: type) -> Any:
    """launch.utilities.type_utils.coerce_to_type for scalar types."""
    if value_type is bool:
        value = yaml.safe_load(text)
        assert isinstance(value, bool), f"cannot convert {text!r} to bool"
        return value
    return value_type(text)


def configurations(declared: list[DeclareLaunchArgument], given: dict[str, str]) -> dict[str, str]:
    """Launch configurations after the DeclareLaunchArgument actions ran: defaults filled in,
    choices checked."""
    values = {}
    for argument in declared:
        value = given.get(argument.name, argument.kwargs["default_value"])
        assert value in argument.kwargs.get("choices", [value]), f"{argument.name}:={value} not in choices"
        values[argument.name] = value
    return values


def evaluate_node(node: Node, handler: OnProcessExit, values: dict[str, str]) -> NodeSpec:
    kwargs = node.kwargs
    files = [Path(perform(p, values)) for p in kwargs["parameters"] if isinstance(p, list)]
    overrides: dict[str, Any] = {}
    for entry in (p for p in kwargs["parameters"] if isinstance(p, dict)):
        for name, value in entry.items():
            if isinstance(value, ParameterValue):
                value = coerce(perform(value.args[0], values), value.kwargs["value_type"])
            overrides[name] = value
    return NodeSpec(
        package=kwargs["package"],
        executable=kwargs["executable"],
        name=kwargs["name"],
        namespace="/" + perform(kwargs["namespace"], values).strip("/"),
        parameter_files=tuple(files),
        parameters=overrides,
        remappings=tuple((perform(a, values), perform(b, values)) for a, b in kwargs["remappings"]),
        shutdown_on_exit=ends_the_launch(handler, ProcessExited(0), Context()),
    )


def ends_the_launch(handler: OnProcessExit, event: ProcessExited, context: Context) -> bool:
    """Whether the handler answers `event` with Shutdown (it may also raise, as launch lets it)."""
    actions = handler.kwargs["on_exit"](event, context)
    return actions is not None and bool(actions) and all(isinstance(a, Shutdown) for a in actions)
