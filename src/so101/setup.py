from pathlib import Path

from setuptools import find_packages, setup

package_name = "so101"
# launch/, config/ and urdf/ are symlinks to the workspace's top-level folders; their files
# (recursively) are installed under share/so101/ with the same layout.
SHARED_FOLDERS = ("launch", "config", "urdf")


def share_files(folder: str) -> list[tuple[str, list[str]]]:
    """data_files entries for every file under `folder`, grouped by directory."""
    groups: dict[Path, list[str]] = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            groups.setdefault(path.parent, []).append(str(path))
    return [(f"share/{package_name}/{parent}", files) for parent, files in groups.items()]


setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        *(entry for folder in SHARED_FOLDERS for entry in share_files(folder)),
    ],
    install_requires=["setuptools", "PyYAML"],
    zip_safe=True,
    maintainer="so101 workspace maintainers",
    maintainer_email="maintainers@so101-ws.dev",
    description="Bringup: launch files, config, URDF and the sim2real command.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": ["sim2real = so101.cli:main"]},
)
