"""Robot-neutral hardware side: the control loop behind every robot's hardware node (RobotLoop, the
RobotInterface a robot adapter implements, HardwareNode), the OpenCV camera node, /diagnostics and
parameter helpers."""
