"""The humanoid on its LSC-24 board: hardware adapter and node, and the board emulator driving the MuJoCo model."""
