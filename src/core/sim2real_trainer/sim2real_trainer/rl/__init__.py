"""Reinforcement learning next to imitation learning: `sim2real train-rl` trains SB3 PPO on a
Gymnasium env id (a robot's, registered through ``sim2real.envs`` entry points, or a built-in one)
and writes a run folder the policy node loads as it is (``<run>/model.zip``).

One job per module: hyperparams.py (YAML presets -> PPO arguments), vec.py (the vectorized,
normalised envs), callbacks.py (what SB3's callbacks leave out), train.py (a run and its resume),
run_files.py (the run folder's names), layout.py (the policy node's sidecars), test_mode.py
(deterministic episodes) with video.py (MP4), curves.py (reward PNG), commands.py (the argparse
verb). No ROS imports.
"""
