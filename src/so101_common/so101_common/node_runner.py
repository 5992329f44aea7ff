"""`main()` for every node of the workspace (the one module here that touches rclpy).

Start-up errors a user can cause (bad parameter, unknown scene or policy, malformed config) end
the process with one line naming the problem and exit code 2, not a traceback; Ctrl-C and
launch shutdown end it quietly.
"""

from __future__ import annotations

import sys
from typing import Callable

USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, LookupError)


def run_node(make_node: Callable[[], object], args: list[str] | None = None,
             run: Callable[[object], int] | None = None) -> None:
    """rclpy.init, build the node, spin it (or ``run(node)`` for nodes that drive themselves)."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    node = None
    code = 0
    try:
        node = make_node()
        if run is None:
            rclpy.spin(node)
        else:
            code = run(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        code = 0 if run is None else 130
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        code = 2
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(code)
