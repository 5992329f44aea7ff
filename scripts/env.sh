# Source me: activates the workspace venv and the colcon install space.
#   source scripts/env.sh              # venv + install/setup.bash
#   source scripts/env.sh --no-install # venv only (used by setup.sh before building)
_so101_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_so101_venv=${SO101_VENV:-$_so101_root/.venv}
if [ ! -x "$_so101_venv/bin/python" ]; then
  echo "so101: no venv at $_so101_venv; run scripts/setup.sh first" >&2
  return 1 2>/dev/null || exit 1
fi
case $- in *u*) _so101_nounset=1 ;; *) _so101_nounset= ;; esac
set +u  # activate and setup.bash read unset variables
# shellcheck source=/dev/null
source "$_so101_venv/bin/activate"
if [ "${1:-}" != "--no-install" ] && [ -f "$_so101_root/install/setup.bash" ]; then
  # shellcheck source=/dev/null
  source "$_so101_root/install/setup.bash"
  # The project command `sim2real` (the bringup package's only executable).
  case ":$PATH:" in
    *":$_so101_root/install/sim2real_bringup/lib/sim2real_bringup:"*) ;;
    *) export PATH="$_so101_root/install/sim2real_bringup/lib/sim2real_bringup:$PATH" ;;
  esac
  # rclpy's own share (interfaces) lives in the venv when ROS 2 comes from wheels.
  case ":${AMENT_PREFIX_PATH:-}:" in
    *":$VIRTUAL_ENV:"*) ;;
    *) export AMENT_PREFIX_PATH="${AMENT_PREFIX_PATH:+$AMENT_PREFIX_PATH:}$VIRTUAL_ENV" ;;
  esac
fi
[ -n "$_so101_nounset" ] && set -u
export MUJOCO_GL=${MUJOCO_GL:-egl}
export ROS_LOG_DIR=${ROS_LOG_DIR:-$_so101_root/log/ros}
export SO101_WORKSPACE=$_so101_root
unset _so101_root _so101_venv _so101_nounset
