"""Hiwonder LSC-24 PWM servo controller: protocol, transports, driver, calibration, pty emulator (no ROS)."""
