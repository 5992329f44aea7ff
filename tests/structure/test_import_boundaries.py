"""The layout's rules, read from the code's imports (every ``import`` statement, also inside
functions): core packages import no robot and no driver; drivers import no ROS and no robot;
a robot imports core, drivers and nothing of another robot."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ROS_MODULES = {"rclpy", "launch", "launch_ros", "ament_index_python", "rosidl_runtime_py"}


def packages(kind: str) -> dict[str, Path]:
    """Python packages of one kind (``core``, ``drivers``, ``robots``), by import name."""
    return {setup.parent.name: setup.parent for setup in sorted((SRC / kind).glob("*/setup.py"))}


def imported_modules(folder: Path) -> dict[str, list[str]]:
    """Top-level module name -> the files (``path:line``) that import it."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], []).append(f"{path}:{node.lineno}")
    return found


def violations(folder: Path, forbidden: set[str]) -> dict[str, list[str]]:
    return {module: where for module, where in imported_modules(folder).items() if module in forbidden}


def test_the_layout_has_all_three_kinds():
    assert {"sim2real_common", "sim2real_sim", "sim2real_policy"} <= set(packages("core"))
    assert "feetech" in packages("drivers") and "so101" in packages("robots")


@pytest.mark.parametrize("name", sorted(packages("core")))
def test_core_imports_no_robot_and_no_driver(name):
    forbidden = set(packages("robots")) | set(packages("drivers"))
    assert violations(packages("core")[name], forbidden) == {}


@pytest.mark.parametrize("name", sorted(packages("drivers")))
def test_drivers_import_no_ros_no_robot_and_only_common_of_core(name):
    forbidden = ROS_MODULES | {m for m in imported_modules(packages("drivers")[name]) if m.endswith("_msgs")}
    forbidden |= set(packages("robots")) | (set(packages("core")) - {"sim2real_common"})
    assert violations(packages("drivers")[name], forbidden) == {}


@pytest.mark.parametrize("name", sorted(packages("robots")))
def test_robots_import_no_other_robot(name):
    assert violations(packages("robots")[name], set(packages("robots")) - {name}) == {}


def test_a_forbidden_import_is_found(tmp_path):
    (tmp_path / "mod.py").write_text("def f():\n    from so101.pick_place import task\n")
    assert list(violations(tmp_path, {"so101"})) == ["so101"]
