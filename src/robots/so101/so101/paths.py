"""Where this package's data folders are (see sim2real_common.package_data)."""

from __future__ import annotations

from pathlib import Path

from sim2real_common.package_data import package_data_dir

PACKAGE = "so101"


def data_dir(name: str) -> Path:
    """``config``, ``launch``, ``mjcf`` or ``urdf`` of this package."""
    return package_data_dir(PACKAGE, Path(__file__).parent, name)
