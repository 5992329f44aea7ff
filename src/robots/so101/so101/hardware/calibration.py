"""LeRobot calibration files and the servo-steps <-> joint-radians mapping built on them.

Files: LeRobot 0.4.4's format and place, so an arm calibrated with ``lerobot-calibrate`` works
here and the other way round: ``$HF_LEROBOT_CALIBRATION/robots/so_follower/<id>.json`` (leader:
``teleoperators/so_leader/<id>.json``; default root ``~/.cache/huggingface/lerobot/calibration``);
files under the older ``so101_follower`` / ``so101_leader`` folders are found too. Content: one
object per motor with integer ``id``, ``drive_mode``, ``homing_offset``, ``range_min``,
``range_max`` (draccus JSON, indent 4), read and written with LeRobot's own draccus calls.

Mapping (steps are Present/Goal_Position, i.e. after the servo applies Homing_Offset):

- body joints, as LeRobot's ``MotorNormMode.DEGREES`` (``use_degrees=True``, the default of its
  SO-101 classes) converted to radians:
  ``rad = (steps - (range_min + range_max) / 2) * 2 pi / 4095``; zero is the middle of the
  calibrated range, which is the zero of the ``so101_new_calib`` model our sim uses. LeRobot
  ignores ``drive_mode`` in this mode, so do we.
- gripper, as LeRobot's ``RANGE_0_100`` (0 = closed at range_min, 100 = open at range_max,
  ``100 - x`` if drive_mode is 1) stretched linearly onto the gripper limits of
  config/so101.yaml: ``rad = lower + pct / 100 * (upper - lower)`` (-0.17453 .. 1.74533 rad).

A value LeRobot would record is therefore ``degrees(rad)`` for body joints and
``(rad - lower) / (upper - lower) * 100`` for the gripper. Goals are clamped to
[range_min, range_max] and rounded to the nearest step (LeRobot truncates: at most 1 step apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import draccus
from lerobot.motors import MotorCalibration
from lerobot.utils.constants import HF_LEROBOT_CALIBRATION

from so101.hardware.errors import CalibrationError, CalibrationMissingError
from feetech.protocol import RESOLUTION

ROLES = ("follower", "leader")
GRIPPER = "gripper"
FULL_TURN_JOINT = "wrist_roll"  # LeRobot gives it the whole 0..4095 instead of a recorded range
# role -> (LeRobot folder kind, folder of LeRobot 0.4.4, folder of older LeRobot releases)
_FOLDERS = {"follower": ("robots", "so_follower", "so101_follower"),
            "leader": ("teleoperators", "so_leader", "so101_leader")}


def calibration_path(arm_id: str, role: str) -> Path:
    """Where LeRobot keeps (and ``sim2real calibrate`` writes) the calibration of this arm."""
    kind, folder, _ = _FOLDERS[role]
    return HF_LEROBOT_CALIBRATION / kind / folder / f"{arm_id}.json"


def find_calibration(arm_id: str, role: str) -> Path:
    """The existing calibration of this arm (LeRobot 0.4.4's folder first, then the older one)."""
    kind, current, legacy = _FOLDERS[role]
    for folder in (current, legacy):
        path = HF_LEROBOT_CALIBRATION / kind / folder / f"{arm_id}.json"
        if path.is_file():
            return path
    raise CalibrationMissingError(calibration_path(arm_id, role), arm_id, role)


def load_calibration(path: Path, joint_names: list[str], *, arm_id: str = "", role: str = "follower"
                     ) -> dict[str, MotorCalibration]:
    """Read a LeRobot calibration file and check it covers ``joint_names`` with sane values."""
    path = Path(path)
    if path.is_dir():
        raise CalibrationError(path, "is a directory; expected a LeRobot calibration JSON file")
    if not path.is_file():
        raise CalibrationMissingError(path, arm_id or path.stem, role)
    try:
        with open(path) as f, draccus.config_type("json"):
            calibration = draccus.load(dict[str, MotorCalibration], f)
    except Exception as err:  # draccus raises a zoo of parsing errors
        raise CalibrationError(path, f"not a LeRobot calibration file ({' '.join(str(err).split())})") from err
    missing = [name for name in joint_names if name not in calibration]
    if missing:
        raise CalibrationError(path, f"no entry for {missing} (has {sorted(calibration)})")
    for name in joint_names:
        cal = calibration[name]
        if not 0 <= cal.range_min < cal.range_max <= RESOLUTION - 1:
            raise CalibrationError(path, f"{name}: expected 0 <= range_min < range_max <= {RESOLUTION - 1}, "
                                         f"found {cal.range_min}..{cal.range_max}")
        if abs(cal.homing_offset) > 2047:
            raise CalibrationError(path, f"{name}: homing_offset {cal.homing_offset} outside +-2047")
    return {name: calibration[name] for name in joint_names}


def save_calibration(calibration: dict[str, MotorCalibration], path: Path) -> Path:
    """Write like LeRobot's ``Robot._save_calibration`` (draccus JSON, indent 4)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f, draccus.config_type("json"):
        draccus.dump(calibration, f, indent=4)
    return path


@dataclass(frozen=True)
class JointMapping:
    """Steps <-> radians for one joint (see the module docstring)."""

    calibration: MotorCalibration
    gripper_limits: tuple[float, float] | None = None  # (lower, upper) rad for the 0..100 gripper

    @property
    def _span(self) -> int:
        return self.calibration.range_max - self.calibration.range_min

    @property
    def _mid(self) -> float:
        return (self.calibration.range_min + self.calibration.range_max) / 2

    @property
    def rad_per_step(self) -> float:
        """Signed slope, for speeds."""
        if self.gripper_limits is None:
            return 2 * math.pi / (RESOLUTION - 1)
        lower, upper = self.gripper_limits
        return (upper - lower) / self._span * (-1 if self.calibration.drive_mode else 1)

    def to_radians(self, steps: float) -> float:
        if self.gripper_limits is None:
            return (steps - self._mid) * 2 * math.pi / (RESOLUTION - 1)
        lower, upper = self.gripper_limits
        return lower + self.to_percent(steps) / 100 * (upper - lower)

    def to_steps(self, radians: float) -> int:
        cal = self.calibration
        if self.gripper_limits is None:
            steps = radians * (RESOLUTION - 1) / (2 * math.pi) + self._mid
        else:
            lower, upper = self.gripper_limits
            percent = min(100.0, max(0.0, (radians - lower) / (upper - lower) * 100))
            if cal.drive_mode:
                percent = 100 - percent
            steps = percent / 100 * self._span + cal.range_min
        return int(min(cal.range_max, max(cal.range_min, round(steps))))

    def to_percent(self, steps: float) -> float:
        """LeRobot's RANGE_0_100 value of the gripper."""
        cal = self.calibration
        percent = (min(cal.range_max, max(cal.range_min, steps)) - cal.range_min) / self._span * 100
        return 100 - percent if cal.drive_mode else percent
