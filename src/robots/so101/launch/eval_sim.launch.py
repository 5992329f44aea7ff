"""Evaluate a policy on SO-101 pick-place in MuJoCo through the ROS graph.

    ros2 launch so101 eval_sim.launch.py n_episodes:=10 seed:=0 policy:=expert report:=out.json
    ./sim2real launch so101 eval_sim.launch.py ...     # the same graph without ros2 launch

The graph (arguments, nodes, parameters) is config/graphs/eval_sim.yaml.
"""


def generate_launch_description():
    from sim2real_bringup.launch_description import launch_description_for

    return launch_description_for(__file__)
