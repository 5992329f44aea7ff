"""Episode bags: plain-CDR round trip of rclpy messages; whole-or-absent on save/discard."""

import numpy as np
from rosbags.highlevel import AnyReader
from sensor_msgs.msg import Image, JointState

from sim2real_recorder.episode_bag import TYPESTORE, EpisodeBag, cdr_bytes


def test_rclpy_messages_round_trip_through_plain_cdr():
    image = Image(height=2, width=2, encoding="rgb8", step=6)
    image.data = bytes(range(12))
    back = TYPESTORE.deserialize_cdr(cdr_bytes(image, "sensor_msgs/msg/Image"), "sensor_msgs/msg/Image")
    assert (back.height, back.width, back.encoding) == (2, 2, "rgb8") and back.data.tolist() == list(range(12))
    state = JointState(name=["a", "b"], position=[1.0, 2.5])
    back = TYPESTORE.deserialize_cdr(cdr_bytes(state, "sensor_msgs/msg/JointState"), "sensor_msgs/msg/JointState")
    assert back.name == ["a", "b"] and np.allclose(back.position, [1.0, 2.5])


def test_saved_bag_is_whole_and_discarded_bag_is_gone(tmp_path):
    bag = EpisodeBag(tmp_path, {"/so101/joint_states": "sensor_msgs/msg/JointState"})
    bag.start()
    for k in range(5):
        bag.write("/so101/joint_states", 1_000 + k, JointState(name=["a"], position=[float(k)]))
    path = bag.save(3)
    bag.start()
    bag.write("/so101/joint_states", 2_000, JointState(name=["a"], position=[9.0]))
    bag.discard()
    assert sorted(p.name for p in (tmp_path / "bags").iterdir()) == ["episode_000003"]
    with AnyReader([path]) as reader:
        values = [reader.deserialize(raw, c.msgtype).position[0] for c, _, raw in reader.messages()]
    assert values == [0.0, 1.0, 2.0, 3.0, 4.0]
