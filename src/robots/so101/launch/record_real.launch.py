"""Record SO-101 pick-place demonstrations on the real arm (leader teleop, cameras, recorder) into a LeRobot dataset.

    ros2 launch so101 record_real.launch.py num_episodes:=50 dataset:=outputs/datasets/pick_place
    ./sim2real launch so101 record_real.launch.py ...     # the same graph without ros2 launch

The graph (arguments, nodes, parameters) is config/graphs/record_real.yaml.
"""


def generate_launch_description():
    from sim2real_bringup.launch_description import launch_description_for

    return launch_description_for(__file__)
