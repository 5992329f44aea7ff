"""Imported first by node modules: a SIGINT/SIGTERM that arrives while a node process is still
importing its libraries (a graph shutting down right after another node failed) ends it quietly
with the signal's exit code instead of a KeyboardInterrupt traceback. ``run_node`` installs the
real handlers before the node is built. Nothing changes when a test process imports a node."""

import signal
import sys
import threading


def _exit_quietly(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


if "pytest" not in sys.modules and threading.current_thread() is threading.main_thread():
    for _sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_sig, _exit_quietly)
