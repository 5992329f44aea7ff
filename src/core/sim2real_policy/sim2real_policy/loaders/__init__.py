"""Turn a policy spec (the ``policy:=`` launch argument) into a Policy, picking the loader by
what the spec names. Heavy libraries (torch, LeRobot, SB3, onnxruntime) are imported only by the
loader that needs them.

Accepted specs:
- ``expert``: the scripted expert of the scene's task (option ``scene``; may be left out while
  only one registered task has an expert);
- a directory: a LeRobot checkpoint (``pretrained_model``) or lerobot-train output folder
  (its latest checkpoint); options ``device``, ``task``;
- ``<name>.zip``: a Stable-Baselines3 model; option ``layout`` (else ``<name>.yaml``), ``device``;
  VecNormalize statistics (``vecnormalize.pkl`` next to it) normalise its observations;
- ``<model>.pt``: a TorchScript module with its sidecar ``<model>.yaml``;
- ``<model>.onnx``: an ONNX model with its sidecar ``<model>.yaml``;
- ``openpi://host:port?state_key=...&image.<camera>=<key>&prompt=...``: a client of an openpi
  policy server (e.g. pi0 served on a GPU box); options are defaults the spec's own override
  (the policy node passes the contract's shapes);
- ``package://<package>/<path>``: any of the above shipped in a ROS package's share folder (the
  ROS URI form, as for meshes), e.g. ``package://humanoid/policies/legs_deploy/model.zip``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim2real_policy.errors import PolicyLoadError
from sim2real_policy.interface import Policy

ACCEPTED = (
    "'expert'",
    "a LeRobot checkpoint or training output directory",
    "a Stable-Baselines3 .zip",
    "a TorchScript .pt",
    "an ONNX .onnx",
    "openpi://host:port?... (openpi policy server)",
)


PACKAGE_URI = "package://"


def _package_path(spec: str) -> Path:
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    package, _, relative = spec[len(PACKAGE_URI):].partition("/")
    try:
        return Path(get_package_share_directory(package)) / relative
    except PackageNotFoundError:
        raise PolicyLoadError(f"policy {spec!r}: no installed ROS package {package!r}") from None


def load_policy(spec: str, **options: Any) -> Policy:
    """Load the policy ``spec`` names; ``options`` go to that kind's loader (see module doc)."""
    if spec == "expert":
        from sim2real_common.registry import expert_for

        return expert_for(options.pop("scene", None))(**options)
    if spec.startswith("openpi://"):
        from sim2real_policy.openpi_client_policy import OpenPiClientPolicy, parse_openpi_spec

        return OpenPiClientPolicy(**{**options, **parse_openpi_spec(spec)})
    path = _package_path(spec) if spec.startswith(PACKAGE_URI) else Path(spec).expanduser()
    if not path.exists():
        raise PolicyLoadError(
            f"policy {spec!r}: {path.resolve()} does not exist; accepted: {'; '.join(ACCEPTED)}"
        )
    if path.is_dir():
        from sim2real_policy.loaders.lerobot_policy import load_lerobot_policy

        return load_lerobot_policy(path, **options)
    suffix = path.suffix.lower()
    if suffix == ".zip":
        from sim2real_policy.loaders.sb3_policy import load_sb3_policy

        return load_sb3_policy(path, **options)
    if suffix == ".pt":
        from sim2real_policy.loaders.torchscript_runner import load_torchscript_policy

        return load_torchscript_policy(path, **options)
    if suffix == ".onnx":
        from sim2real_policy.loaders.onnx_runner import load_onnx_policy

        return load_onnx_policy(path, **options)
    raise PolicyLoadError(
        f"policy {spec!r}: unsupported file type {suffix or '(none)'}; accepted: {'; '.join(ACCEPTED)}"
    )
