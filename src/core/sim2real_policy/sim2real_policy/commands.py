"""`sim2real` subcommands owned by the policy package (registered by sim2real_bringup.cli)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_export_onnx(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-onnx", help="export a LeRobot ACT checkpoint to ONNX + sidecar (for light devices)",
        description="Export the ACT network of a LeRobot checkpoint (or training output folder: its "
                    "latest checkpoint) to ONNX, with a sidecar YAML holding the normalisation stats "
                    "and chunking, so that `policy:=<out>.onnx` serves the same actions with onnxruntime.")
    parser.add_argument("checkpoint", type=Path, help="checkpoint or lerobot-train output directory")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="ONNX file to write (default: <checkpoint>/act.onnx)")
    parser.set_defaults(handler=run_export_onnx)


def run_export_onnx(args: argparse.Namespace) -> int:
    from sim2real_policy.exporters.act_onnx import export_act_onnx

    output = args.output or args.checkpoint / "act.onnx"
    model, sidecar = export_act_onnx(args.checkpoint, output)
    print(f"wrote {model}\nwrote {sidecar}\nserve it with: policy:={model}")
    return 0
