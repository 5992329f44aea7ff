#!/usr/bin/env bash
# The test command (README, CI): set up (idempotent), then
#   1. colcon test: each package's own tests (cores alone, nodes with real rclpy), as ROS users run them;
#   2. pytest tests/: integration across packages (URDF vs MJCF, launch vs graph, end-to-end eval).
# Extra arguments go to the integration pytest run (e.g. -k eval).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
# shellcheck source=/dev/null
source scripts/env.sh
ROS_LOG_DIR=$(mktemp -d)
export ROS_LOG_DIR

echo "== colcon test (package tests) =="
colcon --log-base "$root/log" test --base-paths src --build-base "$root/build" --install-base "$root/install" \
  --event-handlers console_direct+ --return-code-on-test-failure
colcon --log-base "$root/log" test-result --test-result-base "$root/build" --all | tail -n 3

echo "== pytest tests/ (integration) =="
python -m pytest -q tests --ignore=tests/bench "$@"
