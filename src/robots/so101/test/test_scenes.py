"""The SO-101 pick-place scene: visual and collision geometry apart, the home keyframe, the meshes."""

import numpy as np

from sim2real_sim.scenes import load_model


def test_so101_has_visual_and_collision_groups_and_home_keyframe():
    model = load_model("so101_pick_place")
    groups = set(model.geom_group[model.geom_bodyid == model.body("gripper").id])
    assert {2, 3} <= groups  # meshes for cameras, boxes for contacts
    visual = model.geom_group == 2
    assert np.all(model.geom_contype[visual] == 0) and np.all(model.geom_conaffinity[visual] == 0)
    assert model.key("home").id >= 0
    assert model.nmesh == 13
