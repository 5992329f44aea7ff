"""Errors of the policy package; messages say what was wrong and what is accepted."""


class PolicyError(Exception):
    """Base class of so101_policy errors."""


class PolicyLoadError(PolicyError, ValueError):
    """The policy spec names nothing we can load."""
