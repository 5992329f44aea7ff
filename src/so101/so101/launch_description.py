"""A ROS 2 LaunchDescription built from a graph file, so each launch file is a shim::

    def generate_launch_description():
        from so101.launch_description import launch_description_for
        return launch_description_for(__file__)

It declares every graph argument (default, description, choices), one launch_ros Node per graph
node with the same name, namespace, parameter files, typed overrides and remappings that
`sim2real launch` uses, and ends the launch when an ``on_exit: shutdown`` node ends or any node
fails. launch and launch_ros are imported inside the functions: without them (as on machines
with rclpy from PyPI) `so101` still imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from so101.graph import SCALAR_TYPES, Graph, NodeDescription, Override, graph_for_launch_file
from so101.graph_file import load_graph
from so101.substitution import FindShare, Template, Text, Var

if TYPE_CHECKING:
    from launch import LaunchDescription


def launch_description_for(launch_file: str) -> LaunchDescription:
    """The LaunchDescription of ``<name>.launch.py`` from ``config/graphs/<name>.yaml``."""
    return graph_launch_description(load_graph(graph_for_launch_file(launch_file)))


def graph_launch_description(graph: Graph) -> LaunchDescription:
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, RegisterEventHandler
    from launch.event_handlers import OnProcessExit
    from launch_ros.actions import Node

    entities: list[Any] = [
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


def _on_exit(node: NodeDescription) -> Any:
    """Actions for OnProcessExit: Shutdown for an ``on_exit: shutdown`` node; for the others a
    handler that shuts down only on a non-zero exit code, as `sim2real launch` does."""
    from launch.actions import Shutdown

    if node.shutdown_on_exit:
        return [Shutdown(reason=f"{node.name} exited")]

    def shutdown_if_failed(event: Any, _context: Any) -> list[Any] | None:
        if event.returncode != 0:
            return [Shutdown(reason=f"{node.name} exited with code {event.returncode}")]
        return None

    return shutdown_if_failed
