"""A stand-in openpi policy server for tests: same wire protocol as openpi's
``WebsocketPolicyServer`` (metadata dict on connect, then one msgpack-numpy ``{"actions": chunk}``
per observation; a text frame carries a server-side error), on 127.0.0.1 with an ephemeral port.

The chunk is a known function of the received state (``expected_chunk``), so a test can check
that what it sent arrived and that actions come back in order.
"""

from __future__ import annotations

import threading

import numpy as np
from openpi_client import msgpack_numpy
from websockets.sync.server import ServerConnection, serve

STATE_KEY = "observation/state"
FAIL_PROMPT = "fail"  # a request with this prompt gets an error frame, as a crashing server sends
METADATA = {"policy": "openpi-test-server", "action_horizon": 5}


def expected_chunk(state: np.ndarray, horizon: int, action_dim: int) -> np.ndarray:
    """Row i: the state plus 0.01 * (i + 1); columns past the state are padding (100 + i)."""
    chunk = np.full((horizon, action_dim), 100.0) + np.arange(horizon)[:, None]
    steps = 0.01 * np.arange(1, horizon + 1)[:, None]
    chunk[:, : len(state)] = np.asarray(state)[None, :] + steps
    return chunk.astype(np.float32)


class OpenPiTestServer:
    """Serve from a background thread while used as a context manager."""

    def __init__(self, horizon: int = 5, action_dim: int = 8) -> None:
        self.horizon = horizon
        self.action_dim = action_dim
        self.received: list[dict] = []
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None, max_size=None)
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OpenPiTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def _handle(self, connection: ServerConnection) -> None:
        packer = msgpack_numpy.Packer()
        connection.send(packer.pack(METADATA))
        for message in connection:
            observation = msgpack_numpy.unpackb(message)
            self.received.append(observation)
            if observation.get("prompt") == FAIL_PROMPT:
                connection.send("Traceback (most recent call last):\n  ValueError: test failure")
                connection.close()
                return
            chunk = expected_chunk(observation[STATE_KEY], self.horizon, self.action_dim)
            connection.send(packer.pack({"actions": chunk}))
