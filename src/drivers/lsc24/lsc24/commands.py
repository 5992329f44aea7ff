"""`sim2real emulate lsc24`: a Hiwonder LSC-24 board emulator on a pseudo-terminal (registered as
entry point ``sim2real.emulators``: lsc24).

    sim2real emulate lsc24 [--link /tmp/humanoid_lsc24] [--baud 9600] [--battery-mv 7400]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from lsc24.emulator import DEFAULT_BATTERY_MV, Lsc24Emulator, PtyBoard
from lsc24.protocol import DEFAULT_BAUD, U16_MAX


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def millivolts(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= U16_MAX:
        raise argparse.ArgumentTypeError(f"expected millivolts 0..{U16_MAX}, like 7400, got {text!r}")
    return value


def add_emulator(devices: argparse._SubParsersAction) -> None:
    parser = devices.add_parser(
        "lsc24", help="Hiwonder LSC-24 PWM servo controller (humanoid)",
        description="Serve an emulated Hiwonder LSC-24 board (the real frame protocol at the UART's pace, pulses "
                    "ramped per channel, battery replies) on a pseudo-terminal until Ctrl-C; open the printed path "
                    "like /dev/ttyUSB0.")
    parser.add_argument("--link", type=Path, default=None, help="also make this symlink to the pty")
    parser.add_argument("--baud", type=positive_int, default=DEFAULT_BAUD,
                        help=f"the board's UART rate: bytes are taken no faster than baud/10 per second "
                             f"(default {DEFAULT_BAUD}; lower than the driver's = a link that delivers late)")
    parser.add_argument("--battery-mv", type=millivolts, default=DEFAULT_BATTERY_MV,
                        help=f"battery voltage the board reports, in mV (default {DEFAULT_BATTERY_MV})")
    parser.set_defaults(handler=run_emulate)


def run_emulate(args: argparse.Namespace) -> int:
    board = PtyBoard(Lsc24Emulator(battery_mv=args.battery_mv), args.link, baud=args.baud)
    board.open()  # a bad --link fails here, before any signal handler changes
    try:
        # End cleanly (closing the pty, removing the link) on Ctrl-C and on SIGTERM, also when
        # started in the background (where a shell leaves SIGINT ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        link = f" (link {board.link})" if board.link else ""
        print(f"Hiwonder LSC-24 emulator at {args.baud} baud, battery {args.battery_mv} mV, on {board.path}{link}",
              flush=True)
        print(f"open it as serial:{board.link or board.path}\nCtrl-C to stop", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        board.close()
