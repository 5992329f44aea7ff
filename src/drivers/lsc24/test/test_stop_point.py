"""The stop-point finder against a simulated continuous-rotation servo with a known stop point,
deadband and direction, answering as an operator would."""

from __future__ import annotations

import pytest

from lsc24.errors import StopPointError
from lsc24.stop_point import StopPointFinder, Turning


class SimulatedServo:
    """Still within ``deadband`` us of ``stop``; beyond, turns the way ``sign`` gives for higher pulses."""

    def __init__(self, stop: int, deadband: int, sign: int) -> None:
        self.stop, self.deadband, self.sign = stop, deadband, sign
        self.pulse: int | None = None
        self.asked: list[int] = []

    def send(self, pulse: int) -> None:
        self.pulse = pulse

    def ask(self, pulse: int) -> Turning:
        assert pulse == self.pulse  # the operator is asked about the pulse just sent
        self.asked.append(pulse)
        offset = self.pulse - self.stop
        if abs(offset) <= self.deadband:
            return Turning.STILL
        return Turning.POSITIVE if (offset > 0) == (self.sign > 0) else Turning.NEGATIVE


@pytest.mark.parametrize("stop,deadband,sign", [(1512, 14, -1), (1500, 0, 1), (1487, 3, 1), (1630, 40, -1)])
def test_finds_stop_point_deadband_and_sign(stop, deadband, sign):
    servo = SimulatedServo(stop, deadband, sign)
    found = StopPointFinder(servo.send, servo.ask).find()
    assert (found.still_low_us, found.still_high_us) == (stop - deadband, stop + deadband)
    assert (found.stop_us, found.deadband_us, found.sign) == (stop, deadband, sign)
    assert servo.pulse == stop  # left standing still
    assert found.questions == len(servo.asked) <= 2 + 3 * 10  # ends, then three bisections of <= 1000 us


def test_coarser_resolution_asks_fewer_questions_and_stays_inside_the_still_band():
    servo = SimulatedServo(1512, 14, 1)
    found = StopPointFinder(servo.send, servo.ask, resolution_us=4).find()
    assert 1498 <= found.still_low_us <= found.stop_us <= found.still_high_us <= 1526
    assert found.stop_us - found.deadband_us >= 1498 and found.stop_us + found.deadband_us <= 1526
    assert found.questions < StopPointFinder(servo.send, servo.ask).find().questions


def test_servo_without_a_stop_point_in_range_is_refused():
    still = SimulatedServo(1500, 600, 1)
    with pytest.raises(StopPointError, match="stands still at 1000 us, an end of the search range"):
        StopPointFinder(still.send, still.ask).find()
    off_range = SimulatedServo(2300, 10, 1)
    with pytest.raises(StopPointError, match="turns negative at both 1000 and 2000 us"):
        StopPointFinder(off_range.send, off_range.ask).find()


def test_inconsistent_operator_is_caught():
    servo = SimulatedServo(1500, 20, 1)
    answers = iter([Turning.NEGATIVE, Turning.POSITIVE, Turning.STILL, Turning.POSITIVE])
    with pytest.raises(StopPointError, match="inconsistent answers: positive at 1250 us"):
        StopPointFinder(servo.send, lambda pulse: next(answers)).find()


def test_bad_search_range():
    with pytest.raises(ValueError, match="low_us < high_us"):
        StopPointFinder(print, print, low_us=2000, high_us=1000)
