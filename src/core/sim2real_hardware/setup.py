from setuptools import find_packages, setup

package_name = "sim2real_hardware"

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
    description="Generic hardware side: the robot control loop and hardware node base the robots' adapters "
                "build on, the OpenCV camera node, diagnostics and parameter helpers.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": [
        "camera_node = sim2real_hardware.camera_node:main",
    ]},
)
