"""A ROS 2 LaunchDescription built from a graph file, so each launch file is a shim::

    def generate_launch_description():
        from sim2real_bringup.launch_description import launch_description_for
        return launch_description_for(__file__)

It declares every graph argument (default, description, choices), one launch_ros Node per graph
node with the same name, namespace, parameter files, typed overrides and remappings that
`sim2real launch` uses, and ends the launch when an ``on_exit: shutdown`` node ends or any node
fails. Strict like `sim2real launch`: before any node starts, an argument the graph does not
declare (on the ``ros2 launch`` command line) or a value it does not accept is an error, and a
node that fails while the graph runs makes ``ros2 launch`` exit non-zero -- both by raising in
launch, which logs "Caught exception in launch ...: <message>", shuts down and returns 1.
(Included from another launch file, the names on the ``ros2 launch`` command line are still
checked against this graph's arguments.)
launch and launch_ros are imported inside the functions: without them (as on machines with
rclpy from PyPI) `sim2real_bringup` still imports.
"""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING, Any

from sim2real_bringup.errors import LaunchError
from sim2real_bringup.graph import SCALAR_TYPES, Graph, NodeDescription, Override, graph_for_launch_file, parse_assignments
from sim2real_bringup.graph_file import load_graph
from sim2real_bringup.substitution import FindShare, Template, Text, Var

if TYPE_CHECKING:
    from launch import LaunchDescription


def launch_description_for(launch_file: str) -> LaunchDescription:
    """The LaunchDescription of ``<package>/launch/<name>.launch.py`` from
    ``<package>/config/graphs/<name>.yaml`` (installed or in the source tree alike)."""
    graphs = Path(launch_file).absolute().parent.parent / "config" / "graphs"
    return graph_launch_description(load_graph(graph_for_launch_file(launch_file, graphs)))


def graph_launch_description(graph: Graph) -> LaunchDescription:
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction, RegisterEventHandler
    from launch.event_handlers import OnProcessExit
    from launch_ros.actions import Node

    entities: list[Any] = [OpaqueFunction(function=_argument_check(graph))]
    entities += [
        DeclareLaunchArgument(a.name, default_value=a.default, description=a.description,
                              **({"choices": list(a.choices)} if a.choices else {}))
        for a in graph.arguments.values()
    ]
    for node in graph.nodes:
        parameters: list[Any] = [substitutions(f) for f in node.parameter_files]
        if node.parameters:
            parameters.append({name: parameter_value(value) for name, value in node.parameters.items()})
        action = Node(
            package=node.package,
            executable=node.executable,
            name=node.name,
            namespace=substitutions(node.namespace),
            parameters=parameters,
            remappings=[(substitutions(a), substitutions(b)) for a, b in node.remappings],
            output="screen",
        )
        entities += [action, RegisterEventHandler(OnProcessExit(target_action=action, on_exit=_on_exit(node)))]
    return LaunchDescription(entities)


def substitutions(template: Template) -> list[Any]:
    """A template as launch substitutions (LaunchConfiguration, FindPackageShare, text)."""
    from launch.substitutions import LaunchConfiguration, TextSubstitution
    from launch_ros.substitutions import FindPackageShare

    def convert(part: Text | Var | FindShare) -> Any:
        if isinstance(part, Var):
            return LaunchConfiguration(part.name)
        if isinstance(part, FindShare):
            return FindPackageShare(part.package)
        return TextSubstitution(text=part.text)

    return [convert(p) for p in template.parts] or [TextSubstitution(text="")]


def parameter_value(override: Override) -> Any:
    """Literals as they are (launch_ros keeps their YAML type); templates as a ParameterValue
    converted to the graph's type, as `sim2real launch` converts them."""
    if not isinstance(override.value, Template):
        return list(override.value) if isinstance(override.value, tuple) else override.value
    from launch_ros.parameter_descriptions import ParameterValue

    return ParameterValue(substitutions(override.value), value_type=SCALAR_TYPES[override.value_type])


# ros2 launch's own options, passed on to the launch file as arguments (ros2launch.api).
ROS2_LAUNCH_OPTIONS = ("launch-prefix", "launch-prefix-filter")


def _argument_check(graph: Graph) -> Any:
    """An OpaqueFunction body that checks the launch arguments as `sim2real launch` does: the
    names given on the ``ros2 launch`` command line (``context.argv``) must be declared by the
    graph, and every declared argument's value (from the command line or an including launch
    file) must be accepted. Raises ArgumentError, so nothing starts."""

    def check(context: Any) -> None:
        given = {name: value for name, value in parse_assignments(context.argv).items()
                 if name not in graph.arguments and name not in ROS2_LAUNCH_OPTIONS}
        given.update({name: context.launch_configurations[name] for name in graph.arguments
                      if name in context.launch_configurations})
        graph.argument_values(given)

    return check


def _on_exit(node: NodeDescription) -> Any:
    """The OnProcessExit handler of a node. A non-zero exit code while the graph runs (not
    during shutdown, where nodes end by SIGINT) raises LaunchError: launch shuts down and
    ``ros2 launch`` returns 1, as `sim2real launch` returns non-zero. An ``on_exit: shutdown``
    (required) node that ends cleanly ends the launch."""
    from launch.actions import Shutdown

    def on_exit(event: Any, context: Any) -> list[Any] | None:
        if event.returncode != 0 and not context.is_shutdown:
            raise LaunchError(f"{node.name}: exited with code {event.returncode}; shutting down")
        if node.shutdown_on_exit:
            return [Shutdown(reason=f"{node.name} exited")]
        return None

    return on_exit
