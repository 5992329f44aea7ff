from pathlib import Path

from setuptools import find_packages, setup

package_name = "sim2real_sim"
models = [str(p) for p in Path(package_name, "models").rglob("*.xml")]

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={package_name: [str(Path(p).relative_to(package_name)) for p in models]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="so101 workspace maintainers",
    maintainer_email="maintainers@so101-ws.dev",
    description="MuJoCo sim core, scenes and ROS 2 bridge for the SO-101 workspace.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "sim_bridge = sim2real_sim.bridge_node:main",
            "evaluator = sim2real_sim.evaluator_node:main",
        ],
    },
)
