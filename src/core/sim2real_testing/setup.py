from setuptools import find_packages, setup

package_name = "sim2real_testing"

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
    description="Test fixtures: tiny LeRobot datasets, tiny ACT and PPO policies, a toy Gymnasium env on the sim core.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
)
