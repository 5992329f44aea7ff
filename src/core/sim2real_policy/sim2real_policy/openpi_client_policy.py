"""A policy served by an openpi policy server (e.g. a fine-tuned π0), reached over its websocket
protocol with ``openpi_client`` 0.1.2 (no ROS here).

Protocol: on connect the server sends a metadata dict; each request is an observation dict
(msgpack, numpy arrays via ``openpi_client.msgpack_numpy``) keyed by the server's own names
(e.g. ``observation/state``, ``observation/image``, ``prompt``); each reply is
``{"actions": (horizon, action_dim)}``. Normalisation, image resizing and action-space
transforms live with the checkpoint on the server; this client only renames keys.

Spec for ``policy:=``::

    openpi://HOST:PORT?state_key=observation/state&image.overhead_cam=observation/image
        &prompt=pick+up+the+block&action_horizon=10

Shapes (``state_dim``, ``action_dim``, ``image_shape=HxWxC``) may be named in the spec; the policy
node otherwise serves the contract's (``options_from_contract``): the client only renames keys,
so what it sends and returns is what the contract serves.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from openpi_client.websocket_client_policy import WebsocketClientPolicy
from websockets.exceptions import WebSocketException

from sim2real_common.contract import Contract
from sim2real_policy.errors import PolicyError, PolicyLoadError
from sim2real_policy.interface import Feature, Observation
from sim2real_policy.loaders.observations import CAMERA_PREFIX, check_observation

SCHEME = "openpi"
STATE = "observation.state"
ACTION = "action"
IMAGE_OPTION = "image."
Shape = tuple[int, ...]


class OpenPiClientPolicy:
    """Implements ``sim2real_policy.interface.Policy`` by querying an openpi server for action chunks.

    ``image_keys`` maps a camera name (``observation.images.<camera>``) to the server's image key.
    Each query returns a chunk; the first ``action_horizon`` actions of it (all when None) are
    played one per ``select_action`` before the server is asked again. ``action_dim`` defaults to
    ``state_dim``; ``image_shape`` is one (H, W, C) for every camera or one per camera name.
    """

    def __init__(self, host: str, port: int, *, state_key: str, image_keys: dict[str, str],
                 prompt: str | None = None, action_horizon: int | None = None, state_dim: int | None = None,
                 action_dim: int | None = None, image_shape: Shape | Mapping[str, Shape] | None = None) -> None:
        if action_horizon is not None and action_horizon < 1:
            raise PolicyLoadError(f"openpi policy: action_horizon must be >= 1, got {action_horizon}")
        if state_dim is None:
            raise PolicyLoadError("openpi policy: state_dim unknown; name it in the spec (state_dim=N, the "
                                  "length of observation.state) or serve the policy through a contract")
        self.address = f"{host}:{port}"
        self.state_key = state_key
        self.image_keys = dict(image_keys)
        self.prompt = prompt
        self.action_horizon = action_horizon
        self.input_features = (
            Feature(STATE, (state_dim,)),
            *(Feature(CAMERA_PREFIX + camera, _image_shape(image_shape, camera), "uint8")
              for camera in self.image_keys),
        )
        self.output_features = (Feature(ACTION, (state_dim if action_dim is None else action_dim,)),)
        self.last_chunk: np.ndarray | None = None  # the newest chunk as received (for whiskers)
        self._queue: deque[np.ndarray] = deque()
        try:
            # Full URI: the client would take a bare host starting with "ws" for a URI.
            self._client = WebsocketClientPolicy(f"ws://{host}", port)
        except (OSError, WebSocketException) as err:
            raise PolicyLoadError(
                f"openpi policy server at {self.address} is unreachable ({err}); start it (openpi "
                "scripts/serve_policy.py) or fix host:port in the openpi:// spec"
            ) from err

    @property
    def metadata(self) -> dict:
        """What the server sent on connect."""
        return self._client.get_server_metadata()

    def reset(self) -> None:
        self._queue.clear()
        self.last_chunk = None

    def select_action(self, observation: Observation) -> np.ndarray:
        check_observation(observation, self.input_features)
        if not self._queue:
            self.last_chunk = self._query(observation)
            self._queue.extend(self.last_chunk[: self.action_horizon])
        return self._queue.popleft().copy()

    def close(self) -> None:
        # openpi_client 0.1.2 has no close(); its connection is `_ws`.
        self._client._ws.close()

    def _query(self, observation: Observation) -> np.ndarray:
        request: dict[str, Any] = {self.state_key: np.asarray(observation[STATE])}
        for camera, key in self.image_keys.items():
            request[key] = np.asarray(observation[CAMERA_PREFIX + camera])
        if self.prompt:
            request["prompt"] = self.prompt
        try:
            reply = self._client.infer(request)
        except (RuntimeError, OSError, WebSocketException) as err:
            raise PolicyError(f"openpi policy server at {self.address} failed: {err}") from err
        action_dim = self.output_features[0].shape[0]
        actions = reply.get("actions") if isinstance(reply, dict) else None
        if not (isinstance(actions, np.ndarray) and actions.ndim == 2 and len(actions)
                and actions.shape[1] >= action_dim):
            found = getattr(actions, "shape", type(actions).__name__)
            raise PolicyError(f"openpi policy server at {self.address}: expected 'actions' of shape "
                              f"(horizon > 0, >= {action_dim}), got {found}")
        # A server may send the model's padded action width (π0: 32); ours are the first action_dim columns.
        return actions[:, :action_dim].astype(np.float64)


def _image_shape(shape: Shape | Mapping[str, Shape] | None, camera: str) -> Shape:
    found = shape.get(camera) if isinstance(shape, Mapping) else shape
    if found is None:
        raise PolicyLoadError(f"openpi policy: image shape of camera {camera!r} unknown; name it in the spec "
                              "(image_shape=HxWxC) or serve the policy through a contract that has the camera")
    return tuple(found)


def options_from_contract(contract: Contract) -> dict[str, Any]:
    """The shapes the contract serves, as OpenPiClientPolicy options (a spec's own override them)."""
    features = contract.features
    options: dict[str, Any] = {"image_shape": {b.camera: b.shape for b in features.values() if b.is_image}}
    if STATE in features:
        options["state_dim"] = features[STATE].shape[0]
    if ACTION in features:
        options["action_dim"] = features[ACTION].shape[0]
    return options


def parse_openpi_spec(spec: str) -> dict[str, Any]:
    """``openpi://host:port?...`` (see module doc) -> keyword arguments of OpenPiClientPolicy."""
    parts = urlsplit(spec)
    if parts.scheme != SCHEME or not parts.hostname:
        raise PolicyLoadError(f"policy {spec!r}: expected openpi://HOST:PORT?state_key=...")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        raise PolicyLoadError(f"policy {spec!r}: give the server port, e.g. openpi://{parts.hostname}:8000")
    kwargs: dict[str, Any] = {"host": parts.hostname, "port": port, "image_keys": {}}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.startswith(IMAGE_OPTION) and len(key) > len(IMAGE_OPTION):
            kwargs["image_keys"][key[len(IMAGE_OPTION):]] = value
        elif key in ("state_key", "prompt"):
            kwargs[key] = value
        elif key in ("action_horizon", "state_dim", "action_dim"):
            kwargs[key] = _integer(spec, key, value)
        elif key == "image_shape":
            kwargs[key] = tuple(_integer(spec, key, v) for v in value.split("x"))
            if len(kwargs[key]) != 3:
                raise PolicyLoadError(f"policy {spec!r}: image_shape is HxWxC, e.g. 96x128x3; got {value!r}")
        else:
            raise PolicyLoadError(f"policy {spec!r}: unknown option {key!r}; accepted: state_key, "
                                  "image.<camera>, prompt, action_horizon, state_dim, action_dim, image_shape")
    if not kwargs.get("state_key"):
        raise PolicyLoadError(f"policy {spec!r}: state_key is required (the server's state key, "
                              "e.g. state_key=observation/state)")
    return kwargs


def _integer(spec: str, key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise PolicyLoadError(f"policy {spec!r}: {key} must be an integer, got {value!r}") from None
