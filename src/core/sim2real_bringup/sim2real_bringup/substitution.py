"""Substitutions in graph files, with the ROS 2 launch frontend's syntax.

``$(var name)`` is the value of a launch argument, ``$(find pkg)`` (or ``$(find-pkg-share pkg)``)
the share directory of a package. A string is parsed once into a `Template`; `launcher`
renders it to a string, `launch_description` turns its parts into launch substitutions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class FindShare:
    package: str


Part = Text | Var | FindShare

_KINDS: dict[str, type[Var] | type[FindShare]] = {"var": Var, "find": FindShare, "find-pkg-share": FindShare}
_SUBSTITUTION = re.compile(r"\$\(\s*([\w-]+)\s+([^()\s]+)\s*\)")


@dataclass(frozen=True)
class Template:
    parts: tuple[Part, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        """Split `text` into literal text and substitutions; ValueError on an unknown or
        unterminated ``$(...)``."""
        parts: list[Part] = []
        position = 0
        for match in _SUBSTITUTION.finditer(text):
            kind, operand = match.groups()
            if kind not in _KINDS:
                raise ValueError(f"unknown substitution $({kind} ...) in {text!r}; "
                                 f"supported: {', '.join(f'$({k} ...)' for k in _KINDS)}")
            parts.extend(_literal(text[position:match.start()]))
            parts.append(_KINDS[kind](operand))
            position = match.end()
        parts.extend(_literal(text[position:]))
        return cls(tuple(parts))

    @property
    def variables(self) -> list[str]:
        return [p.name for p in self.parts if isinstance(p, Var)]

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, Text) for p in self.parts)

    @property
    def single_variable(self) -> str | None:
        """The argument name if the template is exactly one ``$(var name)``, else None."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Var):
            return self.parts[0].name
        return None

    def render(self, values: Mapping[str, str], find_share: Callable[[str], str]) -> str:
        return "".join(
            p.text if isinstance(p, Text) else values[p.name] if isinstance(p, Var) else find_share(p.package)
            for p in self.parts
        )


def _literal(text: str) -> list[Text]:
    if "$(" in text:
        raise ValueError(f"malformed substitution in {text!r}: expected $(var name) or $(find package)")
    return [Text(text)] if text else []
