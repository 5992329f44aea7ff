"""The `sim2real` command (robot-neutral; its launch verb mirrors `ros2 launch`).

    sim2real launch so101 eval_sim.launch.py n_episodes:=10 seed:=0   # the launch file's graph, no ros2 launch
    sim2real launch --show-args so101 eval_sim.launch.py              # its arguments
    sim2real export-onnx outputs/train/act                            # ACT checkpoint -> ONNX + sidecar

Each subcommand is an ``add_<name>(subparsers)`` function that sets its handler. Errors the user
can fix (`So101Error`) are one message on stderr and exit code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys

from sim2real_bringup.errors import ArgumentError, So101Error
from sim2real_bringup.graph import graph_for_launch_file, graphs_dir, parse_assignments
from sim2real_bringup.graph_file import load_graph
from sim2real_bringup.launcher import Launcher
from sim2real_common.errors import UserError
from sim2real_common.registry import COMMANDS_GROUP, EMULATORS_GROUP, command_adders, launch_packages
from sim2real_policy.commands import add_export_onnx
from sim2real_recorder.bag_replay import add_bag2dataset
from sim2real_trainer.commands import (
    add_analyze_actions,
    add_analyze_predictions,
    add_balance_stats,
    add_eval_sim,
    add_filter_episodes,
    add_sim_demos,
    add_train,
)
from sim2real_trainer.rl.commands import add_train_rl



def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (So101Error, UserError, ValueError, FileNotFoundError) as err:  # problems the user can fix
        print(f"sim2real: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sim2real", description="Commands of the robot-learning workspace.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    add_launch(subparsers)
    add_export_onnx(subparsers)
    add_emulate(subparsers)
    add_train(subparsers)
    add_train_rl(subparsers)
    add_analyze_actions(subparsers)
    add_analyze_predictions(subparsers)
    add_balance_stats(subparsers)
    add_filter_episodes(subparsers)
    add_sim_demos(subparsers)
    add_eval_sim(subparsers)
    add_bag2dataset(subparsers)
    for add in command_adders(COMMANDS_GROUP).values():  # verbs of robot packages (e.g. calibrate)
        add(subparsers)
    return parser


def add_emulate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "emulate", help="emulate a device on a pseudo-terminal or loopback (try the stack without hardware)",
        description="Serve an emulated device, speaking its real protocol, until Ctrl-C; the driver packages "
                    "provide the emulators.")
    devices = parser.add_subparsers(dest="device", required=True, metavar="<device>")
    for add in command_adders(EMULATORS_GROUP).values():
        add(devices)


def add_launch(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "launch", help="start the graph of a launch file (what `ros2 launch <package> <file>` starts)",
        description="Start the nodes of config/graphs/<name>.yaml, the graph that launch/<name>.launch.py "
                    "of the package describes, each in its own process; end when the graph ends or on Ctrl-C. "
                    "An undeclared argument or a value it does not accept is an error before any node starts; "
                    "the exit code is the required (on_exit: shutdown) node's, or that of the first node that "
                    "fails, as `ros2 launch <package> <file>` exits non-zero then.")
    parser.add_argument("package", help=f"package holding the launch file: {', '.join(sorted(launch_packages()))}")
    parser.add_argument("launch_file", help="launch file name, e.g. eval_sim.launch.py")
    parser.add_argument("arguments", nargs="*", metavar="name:=value", help="launch arguments")
    parser.add_argument("-s", "--show-args", action="store_true", help="print the launch arguments and exit")
    parser.set_defaults(handler=run_launch)


def run_launch(args: argparse.Namespace) -> int:
    packages = launch_packages()
    if args.package not in packages:
        raise ArgumentError(f"package {args.package!r} has no launch files here; "
                            f"packages with launch files: {', '.join(sorted(packages))}")
    graph = load_graph(graph_for_launch_file(args.launch_file, graphs_dir(args.package)))
    if args.show_args:
        print(f"{graph.launch_file}: {graph.description}\n\nArguments (pass as name:=value):\n"
              f"{graph.describe_arguments()}")
        return 0
    return Launcher(graph.resolve(parse_assignments(args.arguments))).run()


if __name__ == "__main__":
    sys.exit(main())
