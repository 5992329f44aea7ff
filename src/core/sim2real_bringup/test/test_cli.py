import pytest

from sim2real_bringup.cli import main, parse_assignments
from sim2real_bringup.errors import ArgumentError


def test_show_args(capsys):
    assert main(["launch", "--show-args", "so101", "eval_sim.launch.py"]) == 0
    out = capsys.readouterr().out
    assert "n_episodes:=<int>  (default: '10')" in out
    assert "Episodes to evaluate" in out
    assert "mode:=lockstep|realtime" in out


def test_unknown_argument_is_exit_code_2_without_traceback(capsys):
    assert main(["launch", "so101", "eval_sim.launch.py", "foo:=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sim2real: error: eval_sim.launch.py has no argument 'foo'")
    assert "Traceback" not in err and "n_episodes:=<int>" in err


def test_unknown_launch_file(capsys):
    assert main(["launch", "so101", "nope.launch.py"]) == 2
    assert "available: eval_sim.launch.py" in capsys.readouterr().err


def test_unknown_package_lists_the_known_ones(capsys):
    assert main(["launch", "jaka", "eval_sim.launch.py"]) == 2
    assert "package 'jaka' has no launch files here; packages with launch files: humanoid, so101" in capsys.readouterr().err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2


def test_parse_assignments():
    assert parse_assignments(["seed:=3", "report:=", "url:=a:=b", "seed:=4"]) == {
        "seed": "4", "report": "", "url": "a:=b"}
    for bad in ("seed=3", ":=3"):
        with pytest.raises(ArgumentError, match="name:=value"):
            parse_assignments([bad])
