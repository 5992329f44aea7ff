"""The hardware nodes (real processes) refuse a port that does not exist and an unreadable
calibration file with one line naming it, exit code 2, no traceback and no second error from the
clean-up of the half-built node."""

from __future__ import annotations

import pytest

from so101.paths import data_dir
from sim2real_common.ros_testing import isolate_ros, start_node
from so101.hardware.calibration import load_calibration
from feetech.errors import PortError
from so101.hardware.errors import CalibrationError
from feetech.transport import check_port

from conftest import EXAMPLE_CALIBRATION, JOINTS

EXIT_WAIT_S = 120.0
ARM_NODES = ["so101.hardware.follower_node", "so101.hardware.leader_node"]


@pytest.fixture(scope="module", autouse=True)
def ros(tmp_path_factory):
    return isolate_ros(tmp_path_factory.mktemp("ros_log"))


def run(module: str, tmp_path, **params) -> tuple[int, str]:
    log = tmp_path / "node.log"
    proc = start_node(module, namespace="so101", log=log, params=params)
    code = proc.wait(timeout=EXIT_WAIT_S)
    return code, log.read_text()


def the_error(output: str) -> str:
    assert "Traceback" not in output and "AttributeError" not in output, output
    [line] = [line for line in output.splitlines() if "error" in line.lower()]
    return line


@pytest.mark.parametrize("module", ARM_NODES)
def test_port_that_does_not_exist(module, tmp_path):
    port = tmp_path / "ttyACM9"
    code, output = run(module, tmp_path, port=port, calibration_file=data_dir("config") / EXAMPLE_CALIBRATION)
    assert code == 2
    assert the_error(output).startswith(f"error: cannot open port '{port}': no such device; check the path")


@pytest.mark.parametrize("module", ARM_NODES)
@pytest.mark.parametrize("content,problem", [
    (b"{\"shoulder_pan\": {\"id\": 1,", "not a LeRobot calibration file"),
    (b"\xff\xfe\x00\x01", "not a LeRobot calibration file ('utf-8' codec can't decode"),
    (None, "is a directory; expected a LeRobot calibration JSON file"),
], ids=["truncated", "binary", "directory"])
def test_unreadable_calibration_file(module, tmp_path, content, problem):
    calibration = tmp_path / "arm.json"
    if content is None:
        calibration.mkdir()
    else:
        calibration.write_bytes(content)
    code, output = run(module, tmp_path, port="/dev/null", calibration_file=calibration)
    assert code == 2
    assert the_error(output).startswith(f"error: calibration {calibration}: {problem}")


def test_camera_node_with_a_bad_size(tmp_path):
    code, output = run("sim2real_hardware.camera_node", tmp_path, source="synthetic", width=-3,
                       robot_config="so101.yaml")
    assert code == 2
    assert the_error(output) == "error: camera size: expected positive width and height, got -3x480"


def test_check_port_accepts_urls_and_existing_paths(tmp_path):
    check_port("socket://localhost:1")  # URLs are pyserial's to open
    check_port("/dev/null")
    with pytest.raises(PortError, match=r"cannot open port '/nowhere/tty': no such device"):
        check_port("/nowhere/tty")


def test_calibration_path_that_is_a_directory(tmp_path):
    with pytest.raises(CalibrationError, match=rf"calibration {tmp_path}: is a directory"):
        load_calibration(tmp_path, list(JOINTS))
