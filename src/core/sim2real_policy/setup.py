from setuptools import find_packages, setup

package_name = "sim2real_policy"

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
    description="Policy interface, policy loaders (LeRobot, Stable-Baselines3 with VecNormalize statistics, "
                "TorchScript, ONNX, openpi) and the ROS 2 policy node, which clamps each action joint by name.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": ["policy_node = sim2real_policy.policy_node:main"]},
)
