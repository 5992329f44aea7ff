"""Ctrl-C as `ros2 launch` delivers it: every node of a running graph gets SIGINT twice in quick
succession (once from the terminal, which signals the whole foreground process group, once
forwarded by launch), or SIGINT and then SIGTERM; the evaluator still writes the report of the
episodes it finished and the recorder still finalizes every saved episode.

`sim2real launch` gives each node its own process group and forwards SIGINT once (launcher.py), so
the terminal's share is emulated here: SIGINT to the launcher's process group (it forwards one
to each node) and, at the same moment, to each node's own group.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from conftest import WORKSPACE

DEADLINE_S = 300.0  # generous: a loaded machine runs the sim, the policy and the encoders slowly
STARTED = re.compile(r"^\[launch\] (\w+): started \S+ with pid (\d+)")
N_EPISODES = 20  # more than finish before the signals: the run is always cut short
REPO = "local/so101_pick_place"
SAVED = r"^\[recorder\] \[INFO\] .*: wrote episode_index \d+: \d+ frames"  # the dataset writer's log of a save


class Graph:
    """`./sim2real launch so101 <file>` in a session of its own, its output collected by line."""

    def __init__(self, launch_file: str, *arguments: str) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [str(WORKSPACE / "sim2real"), "launch", "so101", launch_file, *arguments], cwd=WORKSPACE,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
            env=dict(os.environ), start_new_session=True)
        self._pumps = [threading.Thread(target=self._pump, args=(stream,), daemon=True)
                       for stream in (self.process.stdout, self.process.stderr)]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream) -> None:
        for line in stream:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def count(self, pattern: str) -> int:
        with self._lock:
            return sum(bool(re.search(pattern, line)) for line in self.lines)

    def wait_for(self, pattern: str, times: int = 1) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while self.count(pattern) < times:
            assert self.process.poll() is None, f"the graph ended before {times} x {pattern!r}:\n{self.output[-4000:]}"
            assert time.monotonic() < deadline, f"no {times} x {pattern!r} within {DEADLINE_S:.0f} s:\n{self.output[-4000:]}"
            time.sleep(0.1)

    def node_pids(self) -> dict[str, int]:
        with self._lock:
            return {m[1]: int(m[2]) for m in map(STARTED.match, self.lines) if m}

    def ctrl_c(self, then: signal.Signals | None = None) -> None:
        """SIGINT to the launcher's group and every node's group at once (each node gets one
        directly and one forwarded by the launcher); then ``then`` to every node's group."""
        nodes = list(self.node_pids().values())
        for group in [self.process.pid, *nodes]:
            os.killpg(group, signal.SIGINT)
        if then is not None:
            for group in nodes:
                os.killpg(group, then)

    def finish(self) -> int:
        code = self.process.wait(timeout=DEADLINE_S)
        for pump in self._pumps:
            pump.join(timeout=10)
        return code

    def kill(self) -> None:
        for group in [self.process.pid, *self.node_pids().values()]:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def graph():
    started: list[Graph] = []

    def start(launch_file: str, *arguments: str) -> Graph:
        started.append(Graph(launch_file, *arguments))
        return started[-1]

    yield start
    for g in started:
        if g.process.poll() is None:
            g.kill()


SECOND_SIGNALS = [pytest.param(None, id="sigint-twice"), pytest.param(signal.SIGTERM, id="sigint-then-sigterm")]


@pytest.mark.parametrize("then", SECOND_SIGNALS)
def test_eval_sim_writes_the_report_of_the_finished_episodes(graph, tmp_path, then):
    report_path = tmp_path / "report.json"
    g = graph("eval_sim.launch.py", f"n_episodes:={N_EPISODES}", "max_steps:=30", "policy:=expert",
              f"report:={report_path}")
    g.wait_for(r"^\[sim\] .*episode 2 \(seed 2\)")  # the sim ended episode 2: the evaluator finished 0 and 1
    assert set(g.node_pids()) == {"sim", "policy", "evaluator"}
    g.ctrl_c(then)
    g.finish()
    out = g.output
    assert "Traceback" not in out, out[-4000:]
    assert report_path.is_file(), out[-4000:]
    report = json.loads(report_path.read_text())
    assert report["complete"] is False
    assert 2 <= report["n_episodes"] < N_EPISODES
    assert [e["episode"] for e in report["episodes"]] == list(range(report["n_episodes"]))
    assert all(e["done"] for e in report["episodes"])
    assert f"report: {report_path}" in out


@pytest.mark.parametrize("then", SECOND_SIGNALS)
def test_record_sim_finalizes_every_saved_episode(graph, tmp_path, then):
    root, report_path = tmp_path / "dataset", tmp_path / "report.json"
    g = graph("record_sim.launch.py", f"n_episodes:={N_EPISODES}", "max_steps:=30", "keep:=all", "bag:=true",
              f"dataset:={root}", f"report:={report_path}")
    g.wait_for(SAVED, times=2)
    g.ctrl_c(then)
    g.finish()
    out = g.output
    assert "Traceback" not in out, out[-4000:]
    saved = g.count(SAVED)
    assert re.search(rf"^\[recorder\] finalized {re.escape(str(root))}: {saved} episodes", out, re.M), out[-4000:]
    assert not (root / ".sim2real_recording").exists() and not (root / ".sim2real_txn").exists()
    dataset = LeRobotDataset(REPO, root=root, video_backend="torchcodec")  # local root: no Hub access
    assert dataset.meta.total_episodes == saved >= 2
    assert len(dataset) == dataset.meta.total_frames > 0
    dataset[len(dataset) - 1]  # the last saved episode's frames and videos decode
    bags = sorted(p.name for p in (root / "bags").iterdir())
    assert bags == [f"episode_{i:06d}" for i in range(saved)]  # no partial bag (.recording) left
    report = json.loads(report_path.read_text())
    # The evaluator counts the saves the recorder confirmed: the reply to the last one may be cut off.
    assert report["complete"] is False and saved - 1 <= report["n_saved"] <= saved
