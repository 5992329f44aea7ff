"""JSON-lines logs keyed by training step (loss and evaluation histories of a run)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def append_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def keep_until(path: Path, step: int) -> None:
    """Drop the rows after ``step`` (logged past the checkpoint a resumed run restarts from)."""
    rows = read_rows(path)
    kept = [row for row in rows if row["step"] <= step]
    if len(kept) != len(rows):
        path.write_text("".join(json.dumps(row) + "\n" for row in kept))
