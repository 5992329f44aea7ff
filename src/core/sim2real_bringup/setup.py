from setuptools import find_packages, setup

package_name = "sim2real_bringup"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
    ],
    install_requires=["setuptools", "PyYAML"],
    zip_safe=True,
    maintainer="sim2real workspace maintainers",
    maintainer_email="maintainers@so101-ws.dev",
    description="Bringup: the sim2real command and the graph runner behind robot packages' launch files.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": ["sim2real = sim2real_bringup.cli:main"]},
)
