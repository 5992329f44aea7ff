"""Toy planar arm: a second robot that plugs into the workspace only through entry points."""
