"""MuJoCo sim core (ROS-free), scenes and ROS 2 nodes for the SO-101 workspace."""
