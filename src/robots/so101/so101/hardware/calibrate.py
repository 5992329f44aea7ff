"""LeRobot's SO-101 calibration procedure (``SOFollower.calibrate`` / ``SOLeader.calibrate`` of
LeRobot 0.4.4), with the user's two ENTER presses behind callbacks so it also runs unattended:

1. torque off, position mode;
2. the user puts the arm in the middle of its range of motion -> half-turn homing: each servo's
   Homing_Offset is set so that this pose reads 2047 (LeRobot's ``set_half_turn_homings``);
3. the user moves every joint but wrist_roll through its whole range while min/max are recorded;
   wrist_roll gets the full turn 0..4095;
4. offsets and ranges go to the servos' EEPROM and to the returned calibration (to be saved as
   LeRobot JSON).
"""

from __future__ import annotations

from typing import Callable

from lerobot.motors import MotorCalibration

from so101.hardware.calibration import FULL_TURN_JOINT
from so101.hardware.errors import CalibrationError
from feetech.bus import FeetechBus
from feetech.protocol import RESOLUTION

RangeTable = dict[str, tuple[int, int, int]]  # joint -> (min, present, max) steps


def calibrate(bus: FeetechBus, *, wait_centred: Callable[[], None], recording_done: Callable[[], bool],
              show: Callable[[RangeTable], None] = lambda table: None) -> dict[str, MotorCalibration]:
    """Run the procedure on a connected bus; ``wait_centred`` returns once the arm is centred,
    ``recording_done`` is polled between range samples, ``show`` sees the live table."""
    names = list(bus.motors)
    with bus.lerobot_errors():
        bus.set_torque(names, False)
        for name in names:
            bus.lerobot.write("Operating_Mode", name, 0)
        wait_centred()
        offsets = bus.lerobot.set_half_turn_homings(names)
        recorded = [n for n in names if n != FULL_TURN_JOINT]
        # A sweep lasts as long as the user needs: one lost reply must not end it.
        mins = maxes = bus.lerobot.sync_read("Present_Position", recorded, normalize=False, num_retry=bus.retries)
        while True:
            present = bus.lerobot.sync_read("Present_Position", recorded, normalize=False, num_retry=bus.retries)
            mins = {n: min(mins[n], present[n]) for n in recorded}
            maxes = {n: max(maxes[n], present[n]) for n in recorded}
            show({n: (mins[n], present[n], maxes[n]) for n in recorded})
            if recording_done():
                break
    still = [n for n in recorded if mins[n] == maxes[n]]
    if still:
        raise CalibrationError("<recording>", f"{still} did not move; move every joint except {FULL_TURN_JOINT} "
                                              f"through its whole range while recording")
    if FULL_TURN_JOINT in names:
        mins[FULL_TURN_JOINT], maxes[FULL_TURN_JOINT] = 0, RESOLUTION - 1
    calibration = {n: MotorCalibration(id=bus.motors[n], drive_mode=0, homing_offset=int(offsets[n]),
                                       range_min=int(mins[n]), range_max=int(maxes[n])) for n in names}
    bus.write_calibration(calibration)
    return calibration
