from setuptools import find_packages, setup

package_name = "so101_hardware"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="so101 workspace maintainers",
    maintainer_email="maintainers@so101-ws.dev",
    description="SO-101 hardware: Feetech STS3215 bus driver on LeRobot (calibration-compatible), a protocol-level "
                "bus emulator on a pseudo-terminal, follower/leader arm nodes, OpenCV camera node.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": [
        "follower_node = so101_hardware.follower_node:main",
        "leader_node = so101_hardware.leader_node:main",
        "camera_node = so101_hardware.camera_node:main",
    ]},
)
