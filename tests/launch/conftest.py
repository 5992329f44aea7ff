"""Point the real-launch tests at an upstream `launch`/`launch_ros`/`ros2launch` outside the
workspace: ``SIM2REAL_UPSTREAM_LAUNCH=<dir>[:<dir>...]`` puts each directory (e.g. a
``pip install --target <dir>`` of the ros2/launch, ros2/launch_ros and ros2/ros2cli packages) on
sys.path and PYTHONPATH, and its bin/ on PATH. Without it, those tests run only where ROS 2 is
installed (``source /opt/ros/<distro>/setup.bash``) and are skipped elsewhere."""

import os
import sys
from pathlib import Path

_prefixes = [p for p in os.environ.get("SIM2REAL_UPSTREAM_LAUNCH", "").split(os.pathsep) if p]
for _prefix in reversed(_prefixes):
    sys.path.insert(0, _prefix)
if _prefixes:
    os.environ["PYTHONPATH"] = os.pathsep.join([*_prefixes, *filter(None, [os.environ.get("PYTHONPATH")])])
    _bins = [str(Path(p) / "bin") for p in _prefixes if (Path(p) / "bin").is_dir()]
    os.environ["PATH"] = os.pathsep.join([*_bins, os.environ.get("PATH", "")])
