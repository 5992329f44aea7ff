"""OpenPiClientPolicy against a local server speaking openpi's protocol: the observation arrives
intact, actions come back in order from a queue that refills and resets, errors name the server."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from openpi_test_server import FAIL_PROMPT, METADATA, STATE_KEY, OpenPiTestServer, expected_chunk

from sim2real_policy.errors import PolicyError, PolicyLoadError
from sim2real_policy.interface import Feature, Policy
from sim2real_policy.openpi_client_policy import OpenPiClientPolicy, parse_openpi_spec

IMAGE_KEYS = {"overhead_cam": "observation/image", "wrist_cam": "observation/wrist_image"}
PROMPT = "pick up the red block and place it in the bowl"
SHAPES = {"state_dim": 6, "image_shape": (96, 128, 3)}  # what the so101_pick_place contract serves


@pytest.fixture()
def server():
    with OpenPiTestServer(horizon=5, action_dim=8) as server:
        yield server


@pytest.fixture()
def connect(server):
    policies = []

    def make(**options) -> OpenPiClientPolicy:
        options = {"state_key": STATE_KEY, "image_keys": IMAGE_KEYS, "prompt": PROMPT, **SHAPES, **options}
        policies.append(OpenPiClientPolicy("127.0.0.1", server.port, **options))
        return policies[-1]

    yield make
    for policy in policies:
        policy.close()


def _observation(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "observation.state": rng.uniform(-1, 1, 6),
        "observation.images.overhead_cam": rng.integers(0, 256, (96, 128, 3), dtype=np.uint8),
        "observation.images.wrist_cam": rng.integers(0, 256, (96, 128, 3), dtype=np.uint8),
    }


def test_round_trip_and_queue(server, connect):
    policy = connect()
    assert isinstance(policy, Policy)
    assert policy.metadata == METADATA
    assert policy.input_features == (
        Feature("observation.state", (6,)),
        Feature("observation.images.overhead_cam", (96, 128, 3), "uint8"),
        Feature("observation.images.wrist_cam", (96, 128, 3), "uint8"),
    )
    assert policy.output_features == (Feature("action", (6,)),)

    first = _observation(0)
    chunk = expected_chunk(first["observation.state"], 5, 8)[:, :6]  # padding columns dropped
    actions = [policy.select_action(first if i == 0 else _observation(i)) for i in range(5)]
    np.testing.assert_array_equal(actions, chunk)
    np.testing.assert_array_equal(policy.last_chunk, chunk)
    assert len(server.received) == 1  # one query for the whole chunk

    sent = server.received[0]
    assert set(sent) == {STATE_KEY, "observation/image", "observation/wrist_image", "prompt"}
    np.testing.assert_array_equal(sent[STATE_KEY], first["observation.state"])
    for camera, key in IMAGE_KEYS.items():
        image = sent[key]
        assert image.dtype == np.uint8 and image.shape == (96, 128, 3)
        np.testing.assert_array_equal(image, first[f"observation.images.{camera}"])
    assert sent["prompt"] == PROMPT

    refill = _observation(10)  # queue empty -> the next call queries with the new observation
    np.testing.assert_array_equal(policy.select_action(refill),
                                  expected_chunk(refill["observation.state"], 5, 8)[0, :6])
    assert len(server.received) == 2

    policy.reset()  # mid-chunk: the rest of the queue is dropped
    assert policy.last_chunk is None
    after_reset = _observation(20)
    np.testing.assert_array_equal(policy.select_action(after_reset),
                                  expected_chunk(after_reset["observation.state"], 5, 8)[0, :6])
    assert len(server.received) == 3


def test_action_horizon_requeries_early(server, connect):
    policy = connect(action_horizon=2, image_keys={"overhead_cam": "observation/image"}, prompt=None)
    observations = [_observation(i) for i in range(6)]
    actions = [policy.select_action(obs) for obs in observations]
    assert len(server.received) == 3
    for step, action in enumerate(actions):
        queried = observations[step - step % 2]["observation.state"]
        np.testing.assert_array_equal(action, expected_chunk(queried, 5, 8)[step % 2, :6])
    assert "prompt" not in server.received[0] and "observation/wrist_image" not in server.received[0]
    with pytest.raises(PolicyLoadError, match="action_horizon must be >= 1"):
        connect(action_horizon=0)


def test_observation_missing_a_camera_is_named(connect):
    observation = _observation(0)
    del observation["observation.images.wrist_cam"]
    with pytest.raises(PolicyError, match="camera 'wrist_cam'"):
        connect().select_action(observation)


def test_server_error_names_the_server(server, connect):
    policy = connect(prompt=FAIL_PROMPT)
    with pytest.raises(PolicyError, match=rf"(?s)127\.0\.0\.1:{server.port} failed: .*ValueError: test failure"):
        policy.select_action(_observation(0))


def test_unreachable_server_names_host_and_port():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PolicyLoadError, match=rf"server at 127\.0\.0\.1:{port} is unreachable"):
        OpenPiClientPolicy("127.0.0.1", port, state_key=STATE_KEY, image_keys={}, state_dim=6)


def test_spec_round_trip(server):
    spec = (f"openpi://127.0.0.1:{server.port}?state_key=observation/state"
            "&image.overhead_cam=observation/image&prompt=pick+up%20the+block&action_horizon=3"
            "&image_shape=224x224x3")
    kwargs = parse_openpi_spec(spec)
    assert kwargs == {"host": "127.0.0.1", "port": server.port, "state_key": "observation/state",
                      "image_keys": {"overhead_cam": "observation/image"}, "prompt": "pick up the block",
                      "action_horizon": 3, "image_shape": (224, 224, 3)}
    policy = OpenPiClientPolicy(**kwargs, state_dim=6)
    try:
        assert policy.input_features[1] == Feature("observation.images.overhead_cam", (224, 224, 3), "uint8")
    finally:
        policy.close()


@pytest.mark.parametrize("spec, message", [
    ("openpi://localhost?state_key=s", "give the server port"),
    ("openpi://localhost:8000", "state_key is required"),
    ("openpi://localhost:8000?state_key=s&horizon=3", "unknown option 'horizon'"),
    ("openpi://localhost:8000?state_key=s&action_horizon=many", "action_horizon must be an integer"),
    ("openpi://localhost:8000?state_key=s&image_shape=96x128", "image_shape is HxWxC"),
    ("http://localhost:8000?state_key=s", "expected openpi://HOST:PORT"),
])
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(PolicyLoadError, match=message):
        parse_openpi_spec(spec)


def test_load_policy_dispatches_openpi_specs(server):
    from sim2real_policy.loaders import load_policy

    spec = f"openpi://127.0.0.1:{server.port}?state_key={STATE_KEY}&image.overhead_cam=observation/image"
    policy = load_policy(spec, **SHAPES)
    try:
        assert isinstance(policy, OpenPiClientPolicy)
        action = policy.select_action({k: v for k, v in _observation(0).items() if "wrist" not in k})
        assert action.shape == (6,)
    finally:
        policy.close()


def test_shapes_come_from_the_contract_unless_the_spec_names_them(server):
    from sim2real_common.contract import load_contract
    from sim2real_policy.loaders import load_policy
    from sim2real_policy.openpi_client_policy import options_from_contract

    options = options_from_contract(load_contract("so101_pick_place"))
    assert options == {"state_dim": 6, "action_dim": 6,
                       "image_shape": {"overhead_cam": (96, 128, 3), "wrist_cam": (96, 128, 3)}}
    base = f"openpi://127.0.0.1:{server.port}?state_key={STATE_KEY}&image.wrist_cam=observation/wrist_image"
    policies = [load_policy(base, **options), load_policy(f"{base}&action_dim=4&image_shape=48x64x3", **options)]
    try:
        assert [p.output_features for p in policies] == [(Feature("action", (6,)),), (Feature("action", (4,)),)]
        assert policies[1].input_features == (Feature("observation.state", (6,)),
                                              Feature("observation.images.wrist_cam", (48, 64, 3), "uint8"))
        observation = {"observation.state": np.zeros(6),
                       "observation.images.wrist_cam": np.zeros((48, 64, 3), np.uint8)}
        np.testing.assert_array_equal(policies[1].select_action(observation), expected_chunk(np.zeros(6), 5, 8)[0, :4])
    finally:
        for policy in policies:
            policy.close()


@pytest.mark.parametrize("options, message", [
    ({"image_shape": (96, 128, 3)}, "state_dim unknown"),
    ({"state_dim": 6, "image_shape": {"wrist_cam": (96, 128, 3)}}, "image shape of camera 'overhead_cam' unknown"),
])
def test_unknown_shapes_are_named(options, message):
    with pytest.raises(PolicyLoadError, match=message):
        OpenPiClientPolicy("127.0.0.1", 1, state_key=STATE_KEY, image_keys={"overhead_cam": "img"}, **options)
