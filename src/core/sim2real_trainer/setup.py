from setuptools import find_packages, setup

package_name = "sim2real_trainer"

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
    description="Offline trainer (no ROS in its core): LeRobot imitation learning, PPO, analysis tools, rosbag2 replay into datasets.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": []},
)
