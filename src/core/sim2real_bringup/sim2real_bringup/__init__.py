"""Bringup for the SO-101 workspace: graph descriptions, the launcher and the `sim2real` command."""
