#!/usr/bin/env bash
# One-command set-up on a bare Debian 12 / Python 3.11 machine (idempotent; a second run is quick).
#   system packages (ffmpeg, EGL/Mesa for headless MuJoCo) -> venv with the locked
#   dependencies -> colcon build of src/ into install/.
# With an apt ROS 2 install sourced (ROS_DISTRO set, Jazzy or newer), ROS itself and colcon
# come from apt: the venv sees them (--system-site-packages) and skips the ROS wheels.
# Environment: SO101_VENV (default <repo>/.venv), SO101_PYTHON (default python3).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${SO101_VENV:-$root/.venv}
python=${SO101_PYTHON:-python3}
ros_from=wheels
if [ -n "${ROS_DISTRO:-}" ] && [ -d "/opt/ros/${ROS_DISTRO}" ]; then ros_from=apt; fi

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
# pip, quiet; drops the harmless warnings about this machine's unused local index folders.
pip_install() {
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" 2> >(grep -v "is neither a file nor a directory" >&2)
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=(ffmpeg libegl1 libgl1-mesa-dri libgles2 python3-venv)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
  log "creating venv $venv (ROS 2 from $ros_from)"
  if [ "$ros_from" = apt ]; then "$python" -m venv --system-site-packages "$venv"; else "$python" -m venv "$venv"; fi
fi
lock="$root/requirements/lock.txt"
if [ "$ros_from" = apt ]; then
  lock="$venv/lock-without-ros.txt"
  grep -vE '^(ros-|colcon-)' "$root/requirements/lock.txt" > "$lock"
fi

stamp="$venv/.so101-lock.sha256"
want=$(cat "$lock" "$root/scripts/setup.sh" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "pip: installing requirements/lock.txt (first run takes a few minutes)"
  # torch + torchvision first: a plain resolver would pull another torch through lerobot's pins.
  pip_install torch==2.14.1 torchvision==0.29.1
  pip_install --no-deps -r "$lock"
  echo "$want" > "$stamp"
else
  log "pip: venv matches requirements/lock.txt"
fi

log "colcon build (symlink-install)"
# shellcheck source=/dev/null
source "$root/scripts/env.sh" --no-install
cd "$root"
colcon --log-base "$root/log" build --symlink-install --base-paths src \
  --build-base "$root/build" --install-base "$root/install" \
  --event-handlers console_start_end- status- summary+
log "done: run ./sim2real launch so101 eval_sim.launch.py"
