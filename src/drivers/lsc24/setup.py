from setuptools import find_packages, setup

package_name = "lsc24"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
    ],
    install_requires=["setuptools", "pyserial", "pyyaml", "hidapi"],
    zip_safe=True,
    maintainer="sim2real workspace maintainers",
    maintainer_email="maintainers@so101-ws.dev",
    description="Hiwonder LSC-24 PWM servo controller driver, calibration and pty emulator (no ROS).",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"sim2real.emulators": ["lsc24 = lsc24.commands:add_emulator"]},
)
