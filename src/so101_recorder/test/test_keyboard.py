"""Keyboard core: key decoding from raw terminal bytes, key -> service, the status line."""

from __future__ import annotations

import pytest

from so101_recorder.keyboard import Action, KeyDecoder, service_for, status_line

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
    (Action.STOP, None, "stop"),
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


def test_status_line_while_recording():
    line = status_line(_status())
    assert line.startswith("REC episode 2 of 10  4.3/20 s  128 frames  drops 2 stale 1")
    assert "→/n save" in line and "Esc/q stop" in line


def test_status_line_in_other_states():
    assert status_line(None).startswith("waiting for the recorder")
    assert "episode 2" in status_line(_status(state="idle", target=0)) and "of" not in status_line(
        _status(state="idle", target=0)).split("|")[0]
    assert status_line(_status(state="resetting", elapsed_s=1.2)).startswith("RESET 4 s, then episode 2 of 10")
    assert "STOPPED  saved 1" in status_line(_status(state="stopped"))
    warned = status_line(_status(warnings=["wrist_cam at 12.0 Hz, below 30 fps"]), note="save: ok")
    assert "! wrist_cam at 12.0 Hz" in warned and "[save: ok]" in warned
