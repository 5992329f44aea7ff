"""SO-101 hardware: Feetech STS3215 bus driver (on LeRobot 0.4.4), its pty emulator, arm/camera nodes."""
