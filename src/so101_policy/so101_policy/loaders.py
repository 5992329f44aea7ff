"""Turn a policy spec (the `policy:=` launch argument) into a Policy."""

from __future__ import annotations

from so101_policy.errors import PolicyLoadError
from so101_policy.interface import Policy

SCRIPTED = ("expert",)


def load_policy(spec: str) -> Policy:
    """``expert`` = the scripted pick-place expert."""
    if spec == "expert":
        from so101_policy.expert import PickPlaceExpert

        return PickPlaceExpert()
    raise PolicyLoadError(f"unknown policy {spec!r}; accepted: {', '.join(SCRIPTED)}")
