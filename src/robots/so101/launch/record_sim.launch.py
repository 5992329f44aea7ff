"""Record SO-101 pick-place demonstrations in MuJoCo into a LeRobot dataset through the ROS graph.

    ros2 launch so101 record_sim.launch.py n_episodes:=50 dataset:=outputs/datasets/pick_place
    ./sim2real launch so101 record_sim.launch.py ...     # the same graph without ros2 launch

The graph (arguments, nodes, parameters) is config/graphs/record_sim.yaml.
"""


def generate_launch_description():
    from sim2real_bringup.launch_description import launch_description_for

    return launch_description_for(__file__)
