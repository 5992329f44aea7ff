import random

import pytest


@pytest.fixture(scope="session", autouse=True)
def ros_isolation(tmp_path_factory):
    """rclpy logs to a temp dir; node processes started by the tests talk on loopback only, in
    a domain of their own (concurrent test runs do not hear each other)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROS_LOG_DIR", str(tmp_path_factory.mktemp("ros_log")))
        patch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        patch.setenv("ROS_DOMAIN_ID", str(random.randint(1, 100)))
        yield
