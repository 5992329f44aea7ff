"""Record toy-arm reach demonstrations into a LeRobot dataset (graph: config/graphs/record_sim.yaml)."""


def generate_launch_description():
    from sim2real_bringup.launch_description import launch_description_for

    return launch_description_for(__file__)
