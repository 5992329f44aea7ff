"""Evaluate a policy on the toy arm's reach task in MuJoCo (graph: config/graphs/eval_sim.yaml)."""


def generate_launch_description():
    from sim2real_bringup.launch_description import launch_description_for

    return launch_description_for(__file__)
