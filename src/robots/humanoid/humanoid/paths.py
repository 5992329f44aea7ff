"""Where this package's data folders are: next to the code in a source tree or a symlink
install (edits show at once), else the installed share folder."""

from __future__ import annotations

from pathlib import Path

PACKAGE = "humanoid"


def data_dir(name: str) -> Path:
    """``config`` or ``mjcf`` of this package."""
    beside = Path(__file__).resolve().parents[1] / name
    if beside.is_dir():
        return beside
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory(PACKAGE)) / name
