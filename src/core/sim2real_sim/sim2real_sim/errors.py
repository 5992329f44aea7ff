"""Errors of the sim package; each message names what was wrong and what is accepted."""


class SimError(Exception):
    """Base class of sim2real_sim errors."""


class ModelFileError(SimError, FileNotFoundError):
    """A model file (MJCF or mesh folder) is missing or does not compile."""


class UnknownCameraError(SimError, ValueError):
    def __init__(self, name: str, accepted: list[str]) -> None:
        super().__init__(f"unknown camera {name!r}; the scene has: {', '.join(accepted) or 'none'}")
        self.name = name
        self.accepted = accepted
