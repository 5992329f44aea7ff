"""Reinforcement learning next to imitation learning: `sim2real train-rl` trains SB3 PPO on a
Gymnasium env id (a robot's, registered through ``sim2real.envs`` entry points, or a built-in one)
and writes a run folder the policy node loads as it is (``<run>/model.zip``).

One job per module: hyperparams.py (YAML presets -> PPO arguments), vec.py (the vectorized,
normalised envs), train.py (a run, its callbacks and its resume), test_mode.py (deterministic
episodes, MP4), curves.py (reward PNG), commands.py (the argparse verb). No ROS imports.
"""
