"""Tasks: per-scene randomization and the monitor that judges each episode."""
