"""Run resolved graph nodes without `ros2 launch`, the way launch/launch_ros run them.

Each node is its own process, started with the command line launch_ros builds
(``<prefix>/lib/<pkg>/<exe> --ros-args -r __node:=... -r __ns:=... --params-file ...``); its
output lines are prefixed with ``[name]``. The graph ends when a node marked
``on_exit: shutdown`` ends (its exit code is the result), when any node fails (non-zero), when
every node has ended (0), or on SIGINT/SIGTERM; the remaining nodes then get SIGINT, SIGTERM
after `sigterm_timeout_s` and SIGKILL after `sigkill_timeout_s` more, like launch's defaults.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml
from ament_index_python.packages import PackageNotFoundError, get_package_prefix

from sim2real_bringup.errors import LaunchError
from sim2real_bringup.graph import NodeSpec

POLL_S = 0.05
ExecutableLookup = Callable[[str, str], list[str]]


def installed_executable(package: str, executable: str) -> list[str]:
    """``<prefix>/lib/<package>/<executable>``, where `ros2 run` finds it."""
    try:
        prefix = get_package_prefix(package)
    except PackageNotFoundError:
        raise LaunchError(f"package {package!r} not found: build the workspace (scripts/setup.sh) "
                          "and source scripts/env.sh") from None
    path = Path(prefix) / "lib" / package / executable
    if not os.access(path, os.X_OK):
        raise LaunchError(f"package {package!r} has no executable {executable!r} (looked for {path}); "
                          "is it a console script in its setup.py? Rebuild with scripts/setup.sh")
    return [str(path)]


def node_command(spec: NodeSpec, executable: list[str], overrides: Path | None) -> list[str]:
    """The command line launch_ros builds for a Node action."""
    command = [*executable, "--ros-args", "-r", f"__node:={spec.name}", "-r", f"__ns:={spec.namespace}"]
    for params_file in [*spec.parameter_files, *([overrides] if overrides else [])]:
        command += ["--params-file", str(params_file)]
    for source, target in spec.remappings:
        command += ["-r", f"{source}:={target}"]
    return command


def write_overrides(spec: NodeSpec, folder: Path) -> Path | None:
    """The graph's parameter overrides as a params file (YAML keeps their types), keyed by the
    node's full name as launch_ros does for a parameter dict."""
    if not spec.parameters:
        return None
    path = folder / f"{spec.full_name.strip('/').replace('/', '__')}.yaml"
    path.write_text(yaml.safe_dump({spec.full_name: {"ros__parameters": spec.parameters}}, sort_keys=False))
    return path


def exit_code(returncode: int) -> int:
    """A shell-style exit code: 128 + N for a process ended by signal N."""
    return 128 - returncode if returncode < 0 else returncode


@dataclass
class _Process:
    spec: NodeSpec
    popen: subprocess.Popen
    pumps: list[threading.Thread]


@dataclass
class Launcher:
    nodes: Sequence[NodeSpec]
    find_executable: ExecutableLookup = installed_executable
    stdout: TextIO | None = None  # None: sys.stdout at run time
    stderr: TextIO | None = None
    sigterm_timeout_s: float = 5.0
    sigkill_timeout_s: float = 5.0
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def run(self) -> int:
        """Start every node, wait for the graph to end, stop what still runs; the exit code."""
        executables = [self.find_executable(spec.package, spec.executable) for spec in self.nodes]
        for spec in self.nodes:
            for params_file in spec.parameter_files:
                if not params_file.is_file():
                    raise LaunchError(f"node {spec.full_name}: parameter file {params_file} not found")
        processes: list[_Process] = []
        with tempfile.TemporaryDirectory(prefix="sim2real_launch_") as tmp, _caught_signals() as caught:
            try:
                for spec, executable in zip(self.nodes, executables):
                    command = node_command(spec, executable, write_overrides(spec, Path(tmp)))
                    processes.append(self._start(spec, command))
                return self._supervise(processes, caught)
            finally:
                self._stop(processes)

    def _start(self, spec: NodeSpec, command: list[str]) -> _Process:
        try:
            popen = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, errors="replace", env={**os.environ, "PYTHONUNBUFFERED": "1"},
                process_group=0,  # Ctrl-C reaches the launcher only; it forwards SIGINT once
            )
        except OSError as err:
            raise LaunchError(f"cannot start {spec.full_name} ({command[0]}): {err.strerror}") from None
        outputs = ((popen.stdout, self.stdout or sys.stdout), (popen.stderr, self.stderr or sys.stderr))
        pumps = [threading.Thread(target=self._pump, args=(stream, sink, spec.name), daemon=True)
                 for stream, sink in outputs]
        for pump in pumps:
            pump.start()
        self._log(f"{spec.name}: started {spec.full_name} with pid {popen.pid}")
        return _Process(spec, popen, pumps)

    def _supervise(self, processes: list[_Process], caught: list[int]) -> int:
        running = list(processes)
        while running:
            if caught:
                self._log(f"{signal.Signals(caught[0]).name}: shutting down")
                return 128 + caught[0]
            for process in [p for p in running if p.popen.poll() is not None]:
                running.remove(process)
                code = exit_code(process.popen.returncode)
                if process.spec.shutdown_on_exit or code != 0:
                    self._log(f"{process.spec.name}: exited with code {code}; shutting down")
                    return code
                self._log(f"{process.spec.name}: exited with code 0")
            time.sleep(POLL_S)
        return 0

    def _stop(self, processes: list[_Process]) -> None:
        alive = [p for p in processes if p.popen.poll() is None]
        stages = ((signal.SIGINT, self.sigterm_timeout_s), (signal.SIGTERM, self.sigkill_timeout_s),
                  (signal.SIGKILL, None))
        for sig, timeout in stages:
            if not alive:
                break
            if sig != signal.SIGINT:
                self._log(f"{', '.join(p.spec.name for p in alive)}: still running, sending {sig.name}")
            for process in alive:
                _send(process.popen, sig)
            alive = _wait(alive, timeout)
        for process in processes:
            for pump in process.pumps:
                pump.join(timeout=1.0)

    def _pump(self, stream: TextIO, sink: TextIO, name: str) -> None:
        for line in stream:
            text = line.rstrip("\n")
            with self._lock:
                sink.write(f"[{name}] {text}\n")
                sink.flush()
        stream.close()

    def _log(self, message: str) -> None:
        with self._lock:
            sink = self.stderr or sys.stderr
            sink.write(f"[launch] {message}\n")
            sink.flush()


def _send(popen: subprocess.Popen, sig: signal.Signals) -> None:
    """SIGINT/SIGTERM to the node (it cleans up its own children); SIGKILL to its whole group."""
    with contextlib.suppress(ProcessLookupError):
        if sig == signal.SIGKILL:
            os.killpg(popen.pid, sig)
        else:
            popen.send_signal(sig)


def _wait(processes: list[_Process], timeout: float | None) -> list[_Process]:
    """Wait up to `timeout` seconds (None: forever) for `processes`; those still running."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return [p for p in processes if p.popen.poll() is None]


@contextlib.contextmanager
def _caught_signals() -> Iterator[list[int]]:
    """Record SIGINT/SIGTERM (in the main thread only) instead of raising KeyboardInterrupt."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = {sig: signal.signal(sig, lambda signum, _frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
