"""`sim2real emulate feetech`: a Feetech STS3215 bus emulator on a pseudo-terminal (registered
as entry point ``sim2real.emulators``: feetech).

    sim2real emulate feetech --ids 1-6 [--link /tmp/so101_follower] [--sweep]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path


def parse_ids(text: str) -> list[int]:
    """``"1-6"`` -> [1..6]; ``"1,2,7-8"`` -> [1, 2, 7, 8]."""
    ids: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise ValueError(f"servo ids: expected a list like 1-6 or 1,2,5-6, got {text!r}") from None
        if low > high:
            raise ValueError(f"servo ids: range {part.strip()!r} runs backwards in {text!r}; "
                             f"expected first <= last, like {high}-{low}")
        ids += range(low, high + 1)
    if not ids or len(set(ids)) != len(ids) or not all(0 <= i <= 252 for i in ids):
        raise ValueError(f"servo ids: expected distinct ids in 0..252, got {text!r}")
    return ids


def add_emulator(devices: argparse._SubParsersAction) -> None:
    parser = devices.add_parser(
        "feetech", help="Feetech STS3215 servo bus (SO-101 arms)",
        description="Serve an emulated Feetech STS3215 bus (the real byte protocol, simple servo dynamics) on a "
                    "pseudo-terminal until Ctrl-C; open the printed path like /dev/ttyUSB0.")
    parser.add_argument("--ids", default="1-6", help="servo ids on the bus (default 1-6)")
    parser.add_argument("--link", type=Path, default=None, help="also make this symlink to the pty")
    parser.add_argument("--sweep", action="store_true",
                        help="move the unpowered joints back and forth, as a hand would during `sim2real calibrate`")
    parser.set_defaults(handler=run_emulate)


def run_emulate(args: argparse.Namespace) -> int:
    from feetech.emulator import FeetechBusEmulator, PtyBus

    ids = parse_ids(args.ids)
    emulator = FeetechBusEmulator(ids)
    if args.sweep:
        for k, servo_id in enumerate(ids):
            emulator.start_sweep(servo_id, amplitude=900.0, period=1.0 + 0.25 * k)
    bus = PtyBus(emulator, args.link)
    bus.open()  # a bad --link fails here, before any signal handler changes
    try:
        # End cleanly (closing the pty, removing the link) on Ctrl-C and on SIGTERM, also when
        # started in the background (where a shell leaves SIGINT ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        link = f" (link {bus.link})" if bus.link else ""
        print(f"Feetech STS3215 bus emulator: servos {ids} on {bus.path}{link}", flush=True)
        print(f"try: sim2real calibrate --port {bus.link or bus.path} --id emulated --yes --record-seconds 5\n"
              f"Ctrl-C to stop", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        bus.close()
