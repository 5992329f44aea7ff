"""`main()` for every node of the workspace (the one module here that touches rclpy).

Start-up errors a user can cause (bad parameter, unknown scene or policy, malformed config or
checkpoint, a port that does not exist: ``sim2real_common.errors.UserError`` and the ValueErrors of
the config loaders) end the process with one line naming the problem and exit code 2, not a
traceback; Ctrl-C and launch shutdown end it quietly.

Signals: the first SIGINT or SIGTERM shuts the ROS context down (rclpy's own handler, which also
wakes a blocked spin), so the node's spin ends with ``ExternalShutdownException`` (or, racing the
shutdown, an RCLError "context is not valid": ``shutdown_requested()`` tells the two apart from
real errors) and the node writes its results and cleans up. Neither that signal nor any later one
raises ``KeyboardInterrupt``: under ``ros2 launch`` every node gets SIGINT twice (the terminal's
and the one launch forwards) and SIGTERM after a timeout, and an exception raised in the middle of
writing a report or finalizing a dataset would lose it. Later signals are only noted; a node
then ends when its clean-up is done (or by SIGKILL, launch's last resort).
"""

from __future__ import annotations

import signal
import sys
from typing import Callable

from sim2real_common.errors import UserError

USER_ERRORS: tuple[type[BaseException], ...] = (UserError, ValueError, FileNotFoundError, LookupError)
SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_INTERRUPTED = 130

_received: list[int] = []  # signals received by this process, in order
_context_up = False  # rclpy.init has run in run_node


def shutdown_requested() -> bool:
    """True once SIGINT or SIGTERM arrived (or the ROS context went down under the node): the node
    is to write what it has and end. rclpy's handler shuts the context down at once, and a spin or
    service call may then fail with RCLError ("context is not valid") or AttributeError before the
    Python-level handler has noted the signal: both count."""
    if _received:
        return True
    if not _context_up:
        return False
    import rclpy

    return not rclpy.ok()


def shutdown_reason() -> str:
    """Why the node is ending, for its last log line: the first signal's name, else 'shutdown'."""
    return signal.Signals(_received[0]).name if _received else "shutdown"


def _note_signal(signum: int, _frame: object) -> None:
    """Python-level handler of SIGINT/SIGTERM: note the signal, never raise. Installed before
    rclpy.init, so rclpy's handler (shut the context down) chains to it; after the first signal
    it replaces rclpy's handler, so later signals do nothing but get noted here."""
    _received.append(signum)
    for sig in SIGNALS:
        signal.signal(sig, _note_signal)


def _unraisable_after_shutdown(unraisable: sys.UnraisableHookArgs) -> None:
    """Drop one known rclpy 9 error, print the others as Python does: ``rclpy.spin_once`` after
    the shutdown builds a new global executor on the dead context, its ``__init__`` fails
    (RCLError, handled as part of the shutdown) and its ``__del__`` then reports an
    AttributeError ('_sigint_gc') of the half-built object."""
    where = unraisable.object
    if (shutdown_requested() and isinstance(unraisable.exc_value, AttributeError)
            and getattr(where, "__module__", "") == "rclpy.executors"
            and getattr(where, "__qualname__", "") == "Executor.__del__"):
        return
    sys.__unraisablehook__(unraisable)


def run_node(make_node: Callable[[], object], args: list[str] | None = None,
             run: Callable[[object], int] | None = None) -> None:
    """rclpy.init, build the node, spin it (or ``run(node)`` for nodes that drive themselves)."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    for sig in SIGNALS:
        signal.signal(sig, _note_signal)
    sys.unraisablehook = _unraisable_after_shutdown
    rclpy.init(args=args)
    global _context_up
    _context_up = True
    node = None
    code = 0
    try:
        node = make_node()
        if run is None:
            rclpy.spin(node)
        else:
            code = run(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        code = 0 if run is None else EXIT_INTERRUPTED
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        code = 2
    except Exception:
        if not shutdown_requested():
            raise
        # The context went down under the signal while the node was using it (rclpy.spin_once
        # after the shutdown raises RCLError "context is not valid", or AttributeError from the
        # global executor, instead of ExternalShutdownException): part of the shutdown.
        code = 0 if run is None else EXIT_INTERRUPTED
    finally:
        # A node whose constructor failed is destroyed by rclpy.try_shutdown (the context tracks
        # every node); each node's destroy_node cleans up only what its constructor built.
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(code)
