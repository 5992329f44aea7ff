"""Where a robot package's data folders are: next to its code in a source tree or a symlink
install (edits show at once), else the installed share folder."""

from __future__ import annotations

from pathlib import Path


def package_data_dir(package: str, code_dir: Path, name: str) -> Path:
    """``<name>`` (config, launch, mjcf, ...) of ``package``, whose Python package is ``code_dir``."""
    beside = code_dir.resolve().parent / name
    if beside.is_dir():
        return beside
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory(package)) / name
