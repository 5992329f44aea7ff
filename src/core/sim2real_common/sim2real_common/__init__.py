"""ROS-free pieces shared by every package of the workspace."""
