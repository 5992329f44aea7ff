"""Feetech STS3215 serial bus: protocol, transports, driver on LeRobot, pty emulator (no ROS)."""
