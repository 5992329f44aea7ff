from pathlib import Path

from setuptools import find_packages, setup

package_name = "humanoid"
DATA_FOLDERS = ("launch", "config", "mjcf", "policies")  # installed under share/humanoid/ with the same layout


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
        *(entry for folder in DATA_FOLDERS for entry in share_files(folder)),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="sim2real workspace maintainers",
    maintainer_email="maintainers@so101-ws.dev",
    description="The 17-servo humanoid: MuJoCo model, robot config and contracts, the walking task, the LSC-24 hardware node.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "sim2real.robots": ["humanoid = humanoid.registration:robot"],
        "sim2real.emulators": ["humanoid = humanoid.hardware.emulate:add_emulator"],  # the LSC-24 driving the model
        "console_scripts": ["board_node = humanoid.hardware.node:main"],
        "sim2real.envs": [  # config/walk/walk.yaml; observation sets: humanoid/walk/batch_terms.py
            "HumanoidWalk-v0 = humanoid.walk.gym_env:full_body_notebook",  # the lab notebook's observation
            "HumanoidWalkDeploy-v0 = humanoid.walk.gym_env:full_body_deployable",  # what the robot provides
            "HumanoidWalkLegs-v0 = humanoid.walk.gym_env:legs_only_deployable",  # legs only, the rest stopped
        ],
    },
)
