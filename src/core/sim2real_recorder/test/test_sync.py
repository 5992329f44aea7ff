"""StreamSynchronizer on hand-made streams: latest-before sampling (never a message from the
future), stale / missing / repeated / late counting, rate and gap measurement, live warnings,
refusal of episodes with long gaps."""

from __future__ import annotations

import numpy as np
import pytest

from sim2real_common.contract import load_contract
from sim2real_recorder.errors import GapError, SyncError
from sim2real_recorder.sync import StreamSynchronizer

CONTRACT = load_contract("so101_pick_place")  # max_age_s: state 0.1, action 0.2, cameras 0.1
STATE, ACTION, CAM = "observation.state", "action", "observation.images.wrist_cam"
MS = 1_000_000
PERIOD = round(1e9 / 30)


def make(features=(STATE, CAM), **kwargs) -> tuple[StreamSynchronizer, list[str]]:
    warnings: list[str] = []
    return StreamSynchronizer(CONTRACT, list(features), 30, on_warning=warnings.append, **kwargs), warnings


def feed(sync: StreamSynchronizer, feature: str, start_ms: float, stop_ms: float, every_ms: float) -> None:
    """Messages whose value is their own stamp (ms), so a sample shows which message it used."""
    for stamp in np.arange(start_ms, stop_ms, every_ms):
        sync.push(feature, round(stamp * MS), np.array([stamp]))


def live(sync: StreamSynchronizer, streams: dict[str, list[tuple[float, float, float]]], n: int, every: int = 1,
         delay_ms: float = 50) -> list[dict | None]:
    """Real-time order: each stream publishes over its (start, stop, period) ranges in ms, and frame
    k (at k / 30 s) is sampled once the clock passes its time + delay, as the recorder node does."""
    events = [(stamp, 0, feature) for feature, ranges in streams.items() for a, b, p in ranges
              for stamp in np.arange(a, b, p)]
    events += [(k * PERIOD / MS + delay_ms, 1, k) for k in range(0, n, every)]
    frames = []
    for when, kind, what in sorted(events, key=lambda e: (e[0], e[1])):
        if kind == 0:
            sync.push(what, round(when * MS), np.array([when]))
        else:
            frames.append(sync.sample(what * PERIOD))
    return frames


def run(sync: StreamSynchronizer, start_ms: float, n: int, every: int = 1) -> list[dict | None]:
    return [sync.sample(round(start_ms * MS) + k * PERIOD) for k in range(0, n, every)]


def test_latest_message_at_or_before_the_frame_never_a_future_one():
    sync, _ = make()
    feed(sync, STATE, 0, 100, 10)  # 0, 10, ..., 90 ms
    feed(sync, CAM, 0, 100, 33)  # 0, 33, 66, 99 ms
    frame = sync.sample(45 * MS)
    assert frame[STATE][0] == 40 and frame[CAM][0] == 33
    frame = sync.sample(66 * MS)  # a message stamped exactly at the frame time is not from the future
    assert frame[STATE][0] == 60 and frame[CAM][0] == 66
    sync.push(STATE, 66 * MS + 1, np.array([-1.0]))  # stamped 1 ns after the frame above
    assert sync.sample(66 * MS + 1)[STATE][0] == -1.0
    assert sync.sample(98 * MS)[CAM][0] == 66


def test_frames_wait_for_every_stream_and_count_missing():
    sync, _ = make()
    frames = live(sync, {STATE: [(0, 1000, 10)], CAM: [(190, 1000, 33.3)]}, 20)
    assert sum(f is None for f in frames) == 6  # frames at 0..167 ms: no camera image yet
    report = sync.episode_report()
    assert (report.frames, report.dropped) == (14, 6)
    assert report.streams[CAM].missing == 6 and report.streams[STATE].missing == 0
    assert report.streams[STATE].frames == 14


def test_stale_samples_rates_and_gaps():
    sync, warnings = make(features=(STATE, ACTION, CAM))
    # 3 s of frames; state at 100 Hz but silent from 0.99 s to 2 s; 10 Hz action; 15 Hz camera
    live(sync, {STATE: [(0, 1000, 10), (2000, 3000, 10)], ACTION: [(0, 3000, 100)], CAM: [(0, 3000, 66.6)]}, 90)
    report = sync.episode_report()
    state, action, cam = (report.streams[k] for k in (STATE, ACTION, CAM))
    # state: the frames from 1.1 s to 2.0 s (k = 33..60) use the message of 0.99 s, > 0.1 s old
    assert state.stale == 28
    assert state.longest_gap_s == pytest.approx(1.01, abs=1e-6) and state.gap_start_s == pytest.approx(0.99)
    assert action.stale == 0 and action.rate_hz == pytest.approx(10, rel=0.05)
    assert cam.rate_hz == pytest.approx(15, rel=0.05) and cam.repeated >= 40 and cam.stale == 0
    assert report.below_fps() == [ACTION, CAM]
    assert f"{CAM}: camera at 15.0 Hz in the 1.0 s before t=1.0 s, below the 30 fps target" in warnings
    assert f"{STATE}: 28 stale frame(s) (older than 0.1 s) in the 1.0 s before t=2.1 s" in warnings
    assert not any(w.startswith(ACTION) for w in warnings)  # slow but never stale: a vector, not a camera


def test_episode_with_a_long_gap_is_refused_saying_which_stream_and_when():
    sync, warnings = make()
    # camera silent for 0.702 s after its message of 1.998 s
    live(sync, {STATE: [(0, 4000, 10)], CAM: [(0, 2000, 33.3), (2700, 4000, 33.3)]}, 120)
    with pytest.raises(GapError) as error:
        sync.check_saveable()
    (gap,) = error.value.gaps
    assert gap.stream == CAM and gap.length_s == pytest.approx(0.702, abs=1e-6)
    assert gap.start_s == pytest.approx(1.998, abs=1e-6)
    assert "observation.images.wrist_cam: nothing new for 0.70 s from t=2.00 s to t=2.70 s" in str(error.value)
    assert "longer than 0.50 s" in str(error.value)
    stall = [w for w in warnings if w.startswith(f"{CAM}: camera at")]
    assert stall == [f"{CAM}: camera at 12.0 Hz in the 1.0 s before t=3.1 s, below the 30 fps target"]  # live
    StreamSynchronizer(CONTRACT, [STATE, CAM], 30, gap_threshold_s=0.8).check_saveable()  # fresh: no gaps


def test_recording_loop_below_fps_is_reported():
    sync, warnings = make()
    live(sync, {STATE: [(0, 3000, 10)], CAM: [(0, 3000, 33.3)]}, 90, every=3)  # the loop manages every third slot
    report = sync.episode_report()
    assert report.skipped == 58 and report.loop_rate_hz == pytest.approx(10)
    assert report.loop_gap_s == pytest.approx(0.1, abs=1e-6)
    assert report.below_fps() == ["loop"]
    assert "recording loop: 12 frames in the 1.1 s before t=1.1 s, 33 expected at 30 fps" in warnings
    sync.check_saveable()  # 0.1 s between frames is under the threshold
    live(sync, {STATE: [(3000, 3800, 10)], CAM: [(3000, 3800, 33.3)]}, 0)
    sync.sample(3700 * MS)  # then no frame for 0.8 s
    with pytest.raises(GapError, match="recording loop"):
        sync.check_saveable()


def test_late_and_out_of_order_messages():
    sync, _ = make()
    feed(sync, STATE, 0, 50, 10)
    feed(sync, CAM, 0, 50, 20)
    assert sync.sample(45 * MS)[CAM][0] == 40
    sync.push(CAM, 44 * MS, np.array([44.0]))  # belonged to the frame already sampled
    sync.push(CAM, 60 * MS, np.array([60.0]))
    sync.push(CAM, 55 * MS, np.array([55.0]))  # out of order, still usable
    assert sync.sample(58 * MS)[CAM][0] == 55
    assert sync.sample(70 * MS)[CAM][0] == 60
    assert sync.episode_report().streams[CAM].late == 1


def test_reset_starts_a_new_episode_with_the_buffered_messages():
    sync, _ = make()
    feed(sync, STATE, 0, 100, 10)
    feed(sync, CAM, 0, 100, 33)
    run(sync, 0, 3)
    sync.reset()
    report = sync.episode_report()
    assert (report.frames, report.streams[STATE].frames) == (0, 0)
    assert sync.sample(95 * MS)[CAM][0] == 66  # message from before the reset


def test_misuse_is_refused():
    with pytest.raises(SyncError, match="not in contract"):
        StreamSynchronizer(CONTRACT, ["observation.images.nope"], 30)
    sync, _ = make()
    with pytest.raises(SyncError, match="unknown feature"):
        sync.push(ACTION, 0, np.zeros(6))
    feed(sync, STATE, 0, 50, 10)
    feed(sync, CAM, 0, 50, 10)
    sync.sample(30 * MS)
    with pytest.raises(SyncError, match="not after the previous"):
        sync.sample(30 * MS)


def test_clock_reset_drops_the_old_buffer():
    sync, _ = make()
    feed(sync, STATE, 5000, 6000, 10)
    feed(sync, CAM, 5000, 6000, 33)
    sync.reset()
    feed(sync, STATE, 0, 100, 10)  # sim restarted: stamps from 0 again
    feed(sync, CAM, 0, 100, 33)
    assert sync.sample(50 * MS)[STATE][0] == 50
