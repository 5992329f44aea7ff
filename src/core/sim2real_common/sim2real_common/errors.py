"""Configuration errors: each names the file, the field, what was expected and what was found."""

from __future__ import annotations

from pathlib import Path


class ConfigError(ValueError):
    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path = Path(path)
        self.field = field
        self.problem = problem


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """`` (did you mean 'joints'?)`` for the closest choice, or ``""`` when none is close."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class UserError(Exception):
    """Something the user can fix (a file, a parameter, a device). Each package's error base
    derives from it; node_runner and the `sim2real` command print its message as one line and
    exit non-zero, without a traceback. Raise it with the file, the field, what was expected and
    what was found."""


def brief(err: BaseException, limit: int = 200) -> str:
    """A library exception as one short line: its first line, cut after a sentence when long
    (torch and onnxruntime messages run to paragraphs of advice)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[0] if lines else type(err).__name__
    if len(text) > limit:
        end = text.find(". ", 0, limit)
        text = text[: end + 1] if end > 0 else text[:limit].rstrip() + "..."
    return text


class HardwareError(UserError):
    """A device problem the user can fix (port, cable, power, calibration); base of every
    driver's and hardware adapter's errors."""
