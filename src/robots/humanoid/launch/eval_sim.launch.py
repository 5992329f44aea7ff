"""Evaluate a walking policy on the humanoid in MuJoCo through the ROS graph.

    ros2 launch humanoid eval_sim.launch.py n_episodes:=20 policy:=outputs/rl/legs/model.zip
    ./sim2real launch humanoid eval_sim.launch.py ...     # the same graph without ros2 launch

The graph (arguments, nodes, parameters) is config/graphs/eval_sim.yaml.
"""


def generate_launch_description():
    from sim2real_bringup.launch_description import launch_description_for

    return launch_description_for(__file__)
