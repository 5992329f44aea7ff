"""`sim2real emulate lsc24`: the options and their checks."""

from __future__ import annotations

import argparse

import pytest

from lsc24.commands import add_emulator, run_emulate


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_emulator(parser.add_subparsers(dest="device"))
    return parser.parse_args(["lsc24", *argv])


def test_defaults_and_options(tmp_path):
    args = parse()
    assert (args.link, args.baud, args.battery_mv, args.handler) == (None, 9600, 7400, run_emulate)
    args = parse("--link", str(tmp_path / "tty"), "--baud", "2400", "--battery-mv", "6100")
    assert (args.link, args.baud, args.battery_mv) == (tmp_path / "tty", 2400, 6100)


@pytest.mark.parametrize("argv", [["--baud", "0"], ["--baud", "fast"], ["--battery-mv", "70000"]])
def test_bad_values_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        parse(*argv)
    assert "expected" in capsys.readouterr().err
