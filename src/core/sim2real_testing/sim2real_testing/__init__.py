"""Test fixtures for the workspace: tiny LeRobot datasets, tiny ACT/PPO policies, a toy env."""
