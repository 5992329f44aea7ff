"""Offline trainer (no ROS in its core): LeRobot imitation learning, PPO, analysis tools, rosbag2 replay into datasets."""
