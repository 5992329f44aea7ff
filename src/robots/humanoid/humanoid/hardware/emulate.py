"""`sim2real emulate humanoid`: an emulated LSC-24 board on a pseudo-terminal whose pulses drive the
humanoid's MuJoCo model in real time (registered as entry point ``sim2real.emulators``: humanoid).

    sim2real emulate humanoid [--link /tmp/humanoid_lsc24] [--baud 9600] [--battery-mv 7400]
                              [--calibration lsc24_calibration.yaml] [--video walk.mp4]
"""

from __future__ import annotations

import argparse
import signal
import threading
from contextlib import nullcontext
from pathlib import Path

from humanoid.hardware.sim_board import SimulatedHumanoid, default_calibration_file
from lsc24.calibration import load_calibration
from lsc24.commands import millivolts, positive_int
from lsc24.emulator import DEFAULT_BATTERY_MV, Lsc24Emulator, PtyBoard
from lsc24.protocol import DEFAULT_BAUD
from sim2real_trainer.rl.video import Mp4Writer

VIDEO_FPS = 12.5  # the control rate: one frame per control tick
VIDEO_SIZE = (480, 360)  # width, height
IDLE_S = 0.2  # how often the main thread looks at the physics thread when not recording


def add_emulator(devices: argparse._SubParsersAction) -> None:
    parser = devices.add_parser(
        "humanoid", help="the humanoid in MuJoCo behind an emulated LSC-24 board",
        description="Serve an emulated Hiwonder LSC-24 board (as `sim2real emulate lsc24`) on a pseudo-terminal "
                    "and let its pulses drive the humanoid's MuJoCo model in real time, through the servos' true "
                    "calibration, until Ctrl-C; open the printed path like /dev/ttyUSB0. Ends with one line: time "
                    "simulated, distance walked, whether it fell, frames decoded and dropped.")
    parser.add_argument("--link", type=Path, default=None, help="also make this symlink to the pty")
    parser.add_argument("--baud", type=positive_int, default=DEFAULT_BAUD,
                        help=f"the board's UART rate: bytes are taken no faster than baud/10 per second "
                             f"(default {DEFAULT_BAUD}; lower than the driver's = a link that delivers late)")
    parser.add_argument("--battery-mv", type=millivolts, default=DEFAULT_BATTERY_MV,
                        help=f"battery voltage the board reports, in mV (default {DEFAULT_BATTERY_MV})")
    parser.add_argument("--calibration", type=Path, default=default_calibration_file(),
                        help="the emulated servos' TRUE stop points, deadbands and speeds (an lsc24 calibration "
                             "file; default the package's config/lsc24_calibration.yaml, the driver's default): "
                             "give one that differs from the driver's to see the drift it causes")
    parser.add_argument("--video", type=Path, default=None, metavar="PATH",
                        help=f"also write the follow camera to this MP4, {VIDEO_FPS:g} frames per simulated second")
    parser.set_defaults(handler=run_emulate)


def run_emulate(args: argparse.Namespace) -> int:
    emulator = Lsc24Emulator(battery_mv=args.battery_mv)
    sim = SimulatedHumanoid(emulator, true_calibration=load_calibration(args.calibration))
    video = Mp4Writer(args.video, VIDEO_FPS) if args.video else None  # no encoder installed: fails here
    board = PtyBoard(emulator, args.link, baud=args.baud)
    board.open()  # a bad --link fails here, before any signal handler changes
    written = 0  # video frames
    stop = threading.Event()
    try:
        # Ctrl-C and SIGTERM (also when started in the background, where a shell leaves SIGINT
        # ignored) only ask the loop to end, so a frame being encoded is never cut off: the video
        # is finished, the pty closed, the link removed, the summary printed.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        sim.start()
        link = f" (link {board.link})" if board.link else ""
        print(f"humanoid in MuJoCo on an emulated LSC-24 at {args.baud} baud, battery {args.battery_mv} mV, "
              f"servos' true calibration {args.calibration}, on {board.path}{link}", flush=True)
        print(f"open it as serial:{board.link or board.path}\nCtrl-C to stop", flush=True)
        with video if video is not None else nullcontext():
            frame_t = 0.0  # simulated time of the next frame
            while sim.running and not stop.is_set():
                if video is None or sim.sim_time < frame_t:
                    stop.wait(IDLE_S if video is None else 1 / VIDEO_FPS / 4)
                    continue
                frame = sim.rgb(*VIDEO_SIZE)
                # A frame that took longer than a tick to render stands in for the ticks it missed,
                # so the video's clock stays the simulated one.
                ticks = int((sim.sim_time - frame_t) * VIDEO_FPS) + 1
                for _ in range(ticks):
                    video.append(frame)
                written += ticks
                frame_t += ticks / VIDEO_FPS
        return 0  # had the physics thread failed instead, sim.close() below raises why
    finally:
        try:
            sim.close()
        finally:
            board.close()
            print(summary(sim, emulator, f", {written} video frames to {args.video}" if video else ""), flush=True)


def summary(sim: SimulatedHumanoid, emulator: Lsc24Emulator, extra: str = "") -> str:
    """The one line printed at the end."""
    x = sim.torso_position[0]
    skipped = sim.steps_skipped
    behind = f", {skipped} physics steps skipped ({skipped * sim.model.opt.timestep:.2f} s: could not keep up)" \
        if skipped else ", kept real time"
    return (f"humanoid: {sim.sim_time:.1f} s simulated, walked {x - sim.home_torso[0]:+.3f} m in x, "
            f"{'fell' if sim.fell else 'did not fall'}, LSC-24 frames {emulator.frames} decoded / "
            f"{emulator.dropped} dropped{behind}{extra}")
