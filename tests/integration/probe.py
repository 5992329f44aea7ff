"""A real rclpy node spinning in a background thread while a graph runs in another process."""

from __future__ import annotations

import threading

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node


class TopicProbe:
    """Collects every message of the given topics: ``{topic: (type, [messages])}``."""

    def __init__(self, topics: dict[str, type]) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node("test_probe", context=self.context)
        self.messages: dict[str, list] = {topic: [] for topic in topics}
        for topic, msg_type in topics.items():
            self.node.create_subscription(msg_type, topic, self.messages[topic].append, 100)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)

    def __enter__(self) -> "TopicProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self._thread.join(timeout=5)
