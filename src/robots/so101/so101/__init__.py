"""The SO-101 arm: scenes, URDF, config, the pick-place task and expert, the hardware adapter on
the Feetech bus, launch files. Registered with the workspace by ``so101.registration``."""
