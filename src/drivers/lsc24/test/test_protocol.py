"""Frames byte for byte (the vendor's examples verbatim), round trips through the parsers, the
streaming decoder's resync on garbage and truncation, and the link-budget arithmetic."""

from __future__ import annotations

import pytest

from lsc24.protocol import (
    BOARD_GRAMMAR, BOARD_LENGTHS, HEADER, HOST_LENGTHS, ActionGroupEvent, ActionGroupRun, ActionGroupSpeed,
    ActionGroupStop, BatteryRequest, BatteryVoltage, Command, FrameDecoder, Notification, PositionRequest,
    Positions, ServoMove, ServoUnload, encode_action_group_event, encode_action_group_run,
    encode_action_group_speed, encode_action_group_stop, encode_battery_voltage, encode_get_battery_voltage,
    encode_mult_servo_pos_read, encode_mult_servo_unload, encode_positions, encode_servo_move, frame_size,
    frame_wire_time, host_grammar, max_servos_per_frame, servo_move_size, U16_MAX,
)


def test_vendor_examples_verbatim():
    assert encode_servo_move({1: 2000}, 1000) == bytes.fromhex("55 55 08 03 01 E8 03 01 D0 07")
    assert encode_servo_move({2: 1200, 9: 2300}, 800) == bytes.fromhex("55 55 0B 03 02 20 03 02 B0 04 09 FC 08")


def test_other_commands_bytes():
    assert encode_action_group_run(3, 0) == bytes.fromhex("55 55 05 06 03 00 00")  # 0 = loop forever
    assert encode_action_group_stop() == bytes.fromhex("55 55 02 07")
    assert encode_action_group_speed(0xFF, 150) == bytes.fromhex("55 55 05 0B FF 96 00")
    assert encode_get_battery_voltage() == bytes.fromhex("55 55 02 0F")
    assert encode_mult_servo_unload([1, 2, 3]) == bytes.fromhex("55 55 06 14 03 01 02 03")
    assert encode_mult_servo_pos_read([4]) == bytes.fromhex("55 55 04 15 01 04")
    assert encode_battery_voltage(7400) == bytes.fromhex("55 55 04 0F E8 1C")


def test_lengths_follow_the_spec_table():
    """Length = N + 2: servo move count*3 + 5, run/speed 5, stop/battery 2, unload/read count + 3."""
    for n in (1, 17, 32):
        move = encode_servo_move({i: 1500 for i in range(n)}, 0)
        assert move[2] == 3 * n + 5 and len(move) == servo_move_size(n) == 3 * n + 7 == move[2] + 2
    assert encode_action_group_run(1)[2] == encode_action_group_speed(1, 100)[2] == 5
    assert encode_action_group_stop()[2] == encode_get_battery_voltage()[2] == 2
    assert encode_mult_servo_unload(range(5))[2] == encode_mult_servo_pos_read(range(5))[2] == 8
    assert frame_size(0) == 4


def test_wire_time_arithmetic_matches_the_link_budget():
    assert servo_move_size(17) == 58 and frame_wire_time(58, 9600) == pytest.approx(0.0604, abs=1e-4)
    assert servo_move_size(10) == 37 and frame_wire_time(37, 9600) == pytest.approx(0.0385, abs=1e-4)
    assert max_servos_per_frame(64) == 19 and servo_move_size(19) <= 64 < servo_move_size(20)


@pytest.mark.parametrize("pulses,time_ms,limits,match", [
    ({32: 1500}, 0, (500, 2500), r"ids: expected integers 0\.\.31"),
    ({}, 0, (500, 2500), "distinct ids"),
    ({1: 1500}, 65536, (500, 2500), r"time_ms: expected an integer 0\.\.65535"),
    ({1: 70000}, 0, (0, 100000), r"servo 1 pulse: expected an integer 0\.\.65535"),
    ({1: 2600}, 0, (500, 2500), r"servo 1 pulse: expected 500\.\.2500 us, got 2600"),
    ({1: 1500, 2: 999}, 0, {1: (1000, 2000), 2: (1000, 2000)}, r"servo 2 pulse: expected 1000\.\.2000"),
    ({3: 1500}, 0, {1: (1000, 2000)}, "servo 3: no pulse limits"),
    ({1: 1500.0}, 0, (500, 2500), "integer"),
])
def test_servo_move_refuses_what_is_out_of_range(pulses, time_ms, limits, match):
    with pytest.raises(ValueError, match=match):
        encode_servo_move(pulses, time_ms, limits=limits)


def test_host_frames_round_trip():
    decoder = FrameDecoder(host_grammar())
    frames = [encode_servo_move({2: 1200, 9: 2300}, 800), encode_action_group_run(5, 2), encode_action_group_stop(),
              encode_action_group_speed(1, 50), encode_get_battery_voltage(), encode_mult_servo_unload([0, 31]),
              encode_mult_servo_pos_read([7, 8])]
    assert decoder.feed(b"".join(frames)) == [
        ServoMove(800, {2: 1200, 9: 2300}), ActionGroupRun(5, 2), ActionGroupStop(), ActionGroupSpeed(1, 50),
        BatteryRequest(), ServoUnload((0, 31)), PositionRequest((7, 8))]
    assert (decoder.frames, decoder.dropped, decoder.skipped_bytes, decoder.pending) == (7, 0, 0, 0)


def test_board_frames_round_trip_byte_by_byte():
    decoder = FrameDecoder(BOARD_GRAMMAR)
    stream = (encode_battery_voltage(6100) + encode_positions({1: 1500, 12: 2000})
              + encode_action_group_event(Notification.ACTION_GROUP_RUNNING, 3, 0)
              + encode_action_group_event(Notification.ACTION_GROUP_STOPPED)
              + encode_action_group_event(Notification.ACTION_GROUP_COMPLETE, 3, 1))
    assert stream[:6] == bytes.fromhex("55 55 04 0F D4 17")
    got = [m for byte in stream for m in decoder.feed(bytes([byte]))]
    assert got == [BatteryVoltage(6100), Positions({1: 1500, 12: 2000}),
                   ActionGroupEvent(Notification.ACTION_GROUP_RUNNING, 3, 0),
                   ActionGroupEvent(Notification.ACTION_GROUP_STOPPED),
                   ActionGroupEvent(Notification.ACTION_GROUP_COMPLETE, 3, 1)]


def test_no_accepted_length_is_a_header_byte():
    """0x55 0x55 0x55 can then always be read as a stray byte before a header."""
    for table in (HOST_LENGTHS, BOARD_LENGTHS):
        assert all(HEADER[0] not in lengths for lengths in table.values())


def test_decoder_resyncs_on_garbage():
    decoder = FrameDecoder(BOARD_GRAMMAR)
    battery = encode_battery_voltage(7400)
    got = decoder.feed(b"\x00\x13\x55" + battery + b"\xff\x55\x00" + b"\x55" + battery)
    assert got == [BatteryVoltage(7400)] * 2
    assert decoder.dropped == 0 and decoder.skipped_bytes == 7
    assert decoder.feed(b"\x55") == [] and decoder.pending == 1  # maybe half a header: kept
    assert decoder.feed(battery[1:]) == [BatteryVoltage(7400)]


def test_decoder_drops_and_counts_truncated_frames():
    decoder = FrameDecoder(host_grammar((500, 2500)))
    move = encode_servo_move({1: 2000}, 1000)
    for cut in range(3, len(move)):  # every truncation of a move after its header, then a good move
        assert decoder.feed(move[:cut] + move) == [ServoMove(1000, {1: 2000})], cut
    assert decoder.dropped == len(move) - 3 and decoder.pending == 0
    assert decoder.feed(move[:2] + move) == [ServoMove(1000, {1: 2000})]  # a bare header: skipped bytes


def test_decoder_drops_and_counts_garbled_frames():
    decoder = FrameDecoder(host_grammar((500, 2500)))
    good = encode_servo_move({2: 1200, 9: 2300}, 800)
    bad_length = bytearray(good)
    bad_length[2] = 0x0E  # the length of a 3-servo move, the count says 2
    bad_command = bytearray(good)
    bad_command[3] = 0x42
    bad_id = bytearray(good)
    bad_id[7] = 40
    out_of_range = bytearray(good)
    out_of_range[9] = 0x20  # servo 2 pulse 0x20B0 = 8368 us
    stream = b"".join(bytes(f) + good for f in (bad_length, bad_command, bad_id, out_of_range))
    assert decoder.feed(stream + b"\x00" * 3) == [ServoMove(800, {2: 1200, 9: 2300})] * 4
    assert decoder.dropped == 4 and decoder.frames == 4


def test_a_cut_frame_running_into_the_next_is_dropped_even_when_it_would_parse():
    """55 55 08 03 01 + the next move would read as servo 11 -> 515 us over 21845 ms."""
    decoder = FrameDecoder(host_grammar((500, 2500)))
    good = encode_servo_move({2: 1234, 3: 1432}, 0)
    assert decoder.feed(bytes.fromhex("55 55 08 03 01") + good) == [ServoMove(0, {2: 1234, 3: 1432})]
    assert decoder.dropped == 1
    battery = encode_battery_voltage(7400)
    board = FrameDecoder(BOARD_GRAMMAR)  # the last byte lost: the next header's first byte fills it
    assert board.feed(battery[:-1] + battery) == [BatteryVoltage(7400)] and board.dropped == 1


@pytest.mark.parametrize("encode", [lambda: encode_servo_move({1: 1500}, 0x5555),
                                    lambda: encode_servo_move({1: 0x5555}, 0, limits=(0, U16_MAX)),
                                    lambda: encode_servo_move({1: 0x5501}, 0, limits=(0, U16_MAX)),
                                    lambda: encode_battery_voltage(0x5510),
                                    lambda: encode_action_group_run(1, 0x5555)])
def test_encoders_refuse_values_that_read_as_a_header(encode):
    with pytest.raises(ValueError, match="reads as the next frame's header"):
        encode()


def test_impossible_length_does_not_stall_the_decoder():
    decoder = FrameDecoder(BOARD_GRAMMAR)
    assert decoder.feed(bytes([0x55, 0x55, 0xF0, Notification.BATTERY_VOLTAGE]) + encode_battery_voltage(1)) \
        == [BatteryVoltage(1)]
    assert decoder.dropped == 1


def test_command_codes():
    assert [int(c) for c in Command] == [0x03, 0x06, 0x07, 0x0B, 0x0F, 0x14, 0x15]
