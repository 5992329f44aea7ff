"""Interactive stop-point finder for one continuous-rotation servo, free of any I/O of its own.

The caller supplies two callbacks: ``send_pulse(us)`` puts a pulse on the channel, and
``ask(us)`` asks the operator whether the servo still turns and which way (``Turning``). The finder
first checks that the servo turns opposite ways at the two ends of the search range, bisects
between them until the servo stands still, then bisects each side of that still pulse for the
deadband's edges. Result: the middle of the still band (``stop_us``), its half-width
(``deadband_us``) and the sign (+1 when pulses above the stop point turn the joint positive).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

from lsc24.errors import StopPointError


class Turning(Enum):
    STILL = "still"
    POSITIVE = "positive"  # the joint's positive direction
    NEGATIVE = "negative"


@dataclass(frozen=True)
class StopPoint:
    stop_us: int
    deadband_us: int  # half-width: stop_us +- deadband_us is still
    sign: int
    still_low_us: int  # lowest and highest pulse seen still
    still_high_us: int
    questions: int  # how many times the operator was asked


class StopPointFinder:
    """Finds one servo's stop pulse and deadband between ``low_us`` and ``high_us``, to
    ``resolution_us`` (larger: fewer questions)."""

    def __init__(self, send_pulse: Callable[[int], None], ask: Callable[[int], Turning], *,
                 low_us: int = 1000, high_us: int = 2000, resolution_us: int = 1) -> None:
        if not 0 < low_us < high_us:
            raise ValueError(f"search range: expected 0 < low_us < high_us, got {low_us}..{high_us}")
        if resolution_us < 1:
            raise ValueError(f"resolution_us: expected >= 1, got {resolution_us}")
        self.send_pulse = send_pulse
        self.ask = ask
        self.low_us = low_us
        self.high_us = high_us
        self.resolution_us = resolution_us
        self.questions = 0

    def find(self) -> StopPoint:
        """Search, leave the servo at the stop pulse found, and return it."""
        low_way, high_way = self._probe(self.low_us), self._probe(self.high_us)
        for pulse, way in ((self.low_us, low_way), (self.high_us, high_way)):
            if way is Turning.STILL:
                raise StopPointError(f"the servo stands still at {pulse} us, an end of the search range: widen "
                                     f"the range (low_us/high_us) or check the servo's power and wiring")
        if low_way is high_way:
            raise StopPointError(f"the servo turns {low_way.value} at both {self.low_us} and {self.high_us} us: its "
                                 f"stop point is not between them (widen the range) or it is not a "
                                 f"continuous-rotation servo")
        turning_low, turning_high, still = self.low_us, self.high_us, None
        while turning_high - turning_low > 1:
            mid = (turning_low + turning_high) // 2
            way = self._probe(mid)
            if way is Turning.STILL:
                still = mid
                break
            if way is low_way:
                turning_low = mid
            else:
                turning_high = mid
        sign = 1 if high_way is Turning.POSITIVE else -1
        if still is None:  # no deadband at 1 us: the stop point lies between two neighbouring pulses
            self.send_pulse(turning_low)
            return StopPoint(turning_low, 0, sign, turning_low, turning_low, self.questions)
        still_low = self._edge(turning_low, still, low_way)
        still_high = self._edge(turning_high, still, high_way)
        stop = (still_low + still_high) // 2
        self.send_pulse(stop)
        return StopPoint(stop, min(stop - still_low, still_high - stop), sign, still_low, still_high, self.questions)

    def _edge(self, turning: int, still: int, way: Turning) -> int:
        """The still pulse nearest ``turning`` (which turns ``way``), between it and ``still``."""
        while abs(turning - still) > self.resolution_us:
            mid = (turning + still) // 2
            answer = self._probe(mid)
            if answer is Turning.STILL:
                still = mid
            elif answer is way:
                turning = mid
            else:
                raise StopPointError(f"inconsistent answers: {answer.value} at {mid} us, between {turning} us "
                                     f"({way.value}) and {still} us (still); start again, waiting until the "
                                     f"servo has settled before answering")
        return still

    def _probe(self, pulse: int) -> Turning:
        self.send_pulse(pulse)
        self.questions += 1
        return self.ask(pulse)
