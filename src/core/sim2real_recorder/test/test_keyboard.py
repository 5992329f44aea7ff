"""Keyboard core: key decoding from raw terminal bytes, key -> service, the status line, its
expiring messages and the watch that notices a recorder that has gone (all on explicit clocks)."""

from __future__ import annotations

import pytest

from sim2real_recorder.keyboard import (HINTS, LINE_WIDTH, Action, KeyDecoder, Message, RecorderWatch, brief,
                                     service_for, status_line)
from sim2real_recorder.status import Session, SessionConfig

RIGHT, LEFT, ESC = b"\x1b[C", b"\x1b[D", b"\x1b"


@pytest.mark.parametrize("data, actions", [
    (RIGHT, [Action.NEXT]),
    (LEFT, [Action.RERECORD]),
    (b"\x1bOC\x1bOD", [Action.NEXT, Action.RERECORD]),  # application cursor mode
    (b"nrq", [Action.NEXT, Action.RERECORD, Action.STOP]),
    (b"NRQ", [Action.NEXT, Action.RERECORD, Action.STOP]),
    (b"\x03", [Action.LEAVE]),
    (b"\x1b[A\x1b[B\x1b[15~x ", []),  # Up, Down, F5 and other keys do nothing
    (b"\x1bn", [Action.STOP, Action.NEXT]),  # Esc, then n
    (RIGHT + b"n" + LEFT, [Action.NEXT, Action.NEXT, Action.RERECORD]),
])
def test_keys_decode_to_actions(data, actions):
    assert KeyDecoder().feed(data, now=0.0) == actions


def test_lone_escape_is_the_esc_key_once_nothing_follows():
    decoder = KeyDecoder(escape_timeout_s=0.05)
    assert decoder.feed(ESC, now=1.0) == []
    assert decoder.flush(now=1.01) == []
    assert decoder.flush(now=1.06) == [Action.STOP]
    assert decoder.flush(now=2.0) == []


def test_an_arrow_split_across_reads_is_not_escape():
    decoder = KeyDecoder(escape_timeout_s=0.05)
    assert decoder.feed(b"\x1b", now=1.0) == []
    assert decoder.feed(b"[", now=1.01) == []
    assert decoder.feed(b"D", now=1.02) == [Action.RERECORD]
    assert decoder.flush(now=5.0) == []


def test_a_new_escape_gets_its_own_timeout():
    decoder = KeyDecoder(escape_timeout_s=0.05)
    decoder.feed(b"\x1b[", now=1.0)
    assert decoder.feed(b"C\x1b", now=2.0) == [Action.NEXT]
    assert decoder.flush(now=2.01) == []
    assert decoder.flush(now=2.06) == [Action.STOP]


@pytest.mark.parametrize("action, state, service", [
    (Action.NEXT, "recording", "save"),
    (Action.NEXT, "idle", "start"),
    (Action.NEXT, "resetting", "start"),  # end the reset period early
    (Action.NEXT, "stopped", None),
    (Action.NEXT, None, None),  # no status yet
    (Action.RERECORD, "recording", "discard"),
    (Action.RERECORD, "resetting", None),
    (Action.STOP, "recording", "stop"),
    (Action.STOP, "idle", "stop"),
    (Action.STOP, None, None),  # no recorder seen: the keyboard just exits
    (Action.STOP, "stopped", None),
    (Action.LEAVE, "recording", None),
])
def test_service_for_each_key_and_state(action, state, service):
    assert service_for(action, state) == service


def _status(**changes) -> dict:
    status = {"state": "recording", "episodes_saved": 1, "target": 10, "elapsed_s": 4.27,
              "episode_time_s": 20.0, "reset_time_s": 5.0, "frames": 128, "dataset": "/data/so101",
              "streams": {"observation.state": {"drops": 0, "stale": 1},
                          "observation.images.wrist_cam": {"drops": 2, "stale": 0}},
              "warnings": []}
    return {**status, **changes}


def test_status_line_while_recording_starts_with_the_key_hints():
    line = status_line(_status())
    assert line == ("→ save  ← re-record  q stop | "
                    "REC episode 2 of 10  4.3/20 s  128 frames  drops 2 stale 1")


def test_status_line_in_other_states():
    assert status_line(None) == f"{HINTS[None]} | waiting for the recorder (recorder/status)..."
    assert status_line(_status(state="idle", target=0)) == "→ start  q stop | IDLE next: episode 2  (saved 1)"
    assert status_line(_status(state="resetting", elapsed_s=1.2)).startswith(
        "→ start now  q stop | RESET 4 s, then episode 2 of 10")
    assert "STOPPED  saved 1" in status_line(_status(state="stopped"))
    warned = status_line(_status(state="idle", warnings=["wrist_cam at 12 Hz"]), note="save: ok")
    assert warned.endswith("(saved 1)  [save: ok]  ! wrist_cam at 12 Hz")  # the message, then the warning


@pytest.mark.parametrize("state", ["recording", "idle", "resetting", "stopped", None])
def test_status_line_fits_120_columns_with_the_hints_first(state):
    long = "x" * 300
    status = None if state is None else _status(state=state, warnings=[f"camera at 1 Hz {long}"],
                                                dataset=f"/data/{long}", frames=123456789, elapsed_s=12345.6)
    line = status_line(status, note=f"save: refused - {long}")
    assert len(line) <= LINE_WIDTH < 120 and line.endswith("…")
    assert line.startswith(HINTS[state] + " | ")


def test_a_long_session_line_and_its_reply_fit_whole():
    status = _status(episodes_saved=11, episode=12, target=50, elapsed_s=59.94, episode_time_s=60.0, frames=1797)
    reply = brief("saved episode 11 of 50 (episode_index 61, 1800 frames)")
    line = status_line(status, note=reply)
    assert line == ("→ save  ← re-record  q stop | REC episode 12 of 50  59.9/60 s  1797 frames  drops 2 "
                    "stale 1  [saved episode 11 of 50]")
    assert len(line) <= LINE_WIDTH


def test_brief_keeps_the_first_line_of_a_reply_without_its_details():
    assert brief("discarded episode 2 of 5 (40 frames)") == "discarded episode 2 of 5"
    assert brief("episode 2 of 5 not saved, discarded: 1 gap(s)\n  - observation.state: ...") == \
        "episode 2 of 5 not saved, discarded: 1 gap(s)"
    assert brief("") == "" and brief("recording episode 3") == "recording episode 3"


def test_screen_numbers_episodes_as_the_recorder_does_after_a_resume():
    """One numbering: this session's episodes from 1, on the screen and in the recorder's labels;
    the status keeps LeRobot's 0-based episode_index beside it."""
    session = Session(SessionConfig(num_episodes=2), dataset_episodes=2)  # resumed: 2 episodes there
    report = session.report(0.0, frames=0, streams={}, warnings=[])
    assert (report["episode"], report["episode_index"]) == (1, 2)
    assert session.episode_label == "episode 1 of 2"
    assert "IDLE next: episode 1 of 2  (saved 0)" in status_line(report)
    session.start(1.0)
    assert "REC episode 1 of 2" in status_line(session.report(1.5, frames=10, streams={}, warnings=[]))
    session.episode_ended(2.0, saved=True)  # the recorder says "saved episode 1 of 2 (episode_index 2, ...)"
    report = session.report(2.0, frames=0, streams={}, warnings=[])
    assert (report["episode"], report["episode_index"], session.episode_label) == (2, 3, "episode 2 of 2")
    assert "IDLE next: episode 2 of 2  (saved 1)" in status_line(report)
    session.start(3.0)
    session.episode_ended(4.0, saved=False)  # discarded: the same episode is recorded again
    assert session.episode_label == "episode 2 of 2"


def test_a_message_expires_after_its_time_to_live():
    message = Message(ttl_s=5.0, min_s=1.5)
    message.show("discard: ok - discarded episode 1 of 3 (40 frames)", now=100.0, episode=None)
    assert message.text(now=104.9, attempts=None).startswith("discard: ok")
    assert message.text(now=105.0, attempts=None) == ""
    assert message.text(now=106.0, attempts=None) == ""  # and stays gone


def test_a_message_expires_once_a_later_episode_has_started():
    message = Message(ttl_s=5.0, min_s=1.5)
    message.show("discard: ok", now=10.0, episode=2)  # about attempt 2
    assert message.text(now=10.5, attempts=2) == "discard: ok"
    assert message.text(now=11.0, attempts=3) == "discard: ok"  # the next one started at once: still readable
    assert message.text(now=11.5, attempts=3) == ""
    message.show("start: ok - recording episode 2 of 3", now=20.0, episode=3)  # a start is about its episode
    assert message.text(now=22.0, attempts=3) == "start: ok - recording episode 2 of 3"
    assert message.text(now=22.0, attempts=4) == ""


def test_watch_notices_a_recorder_that_has_gone():
    watch = RecorderWatch(stale_s=10.0, grace_s=2.0)
    assert watch.gone(now=0.0, publishers=0) is None  # never seen: still waiting for it
    assert watch.gone(now=1000.0, publishers=0) is None
    watch.status_received(now=1000.0)
    assert watch.gone(now=1001.0, publishers=1) is None
    assert watch.gone(now=1002.0, publishers=0) is None  # a discovery blink is not enough
    assert watch.gone(now=1003.0, publishers=1) is None
    assert watch.gone(now=1004.0, publishers=0) is None
    assert "nothing publishes recorder/status" in watch.gone(now=1006.0, publishers=0)


def test_watch_notices_a_silent_recorder_unless_a_call_is_pending():
    watch = RecorderWatch(stale_s=10.0, grace_s=2.0)
    watch.status_received(now=0.0)
    assert watch.gone(now=9.9, publishers=1) is None
    assert watch.gone(now=30.0, publishers=1, busy=True) is None  # e.g. a long save holds the recorder
    assert watch.gone(now=39.9, publishers=1) is None  # silence counts from the last pending moment
    assert watch.gone(now=40.0, publishers=1) == "the recorder has gone (no status for 10 s)"
