"""An episode save as a transaction on a LeRobot dataset directory: all of it or none of it.

LeRobot 0.4.4's ``save_episode`` writes an episode in several steps (``meta/tasks.parquet``, the
data parquet, the MP4 move, the ``meta/episodes`` parquet, ``meta/info.json``,
``meta/stats.json``) and rewrites info/stats/tasks in place. A process killed between two steps
leaves a dataset LeRobot cannot load, or one whose ``info.json`` counts an episode that is not
there. ``SaveTransaction`` brackets the save:

- ``begin``: copy the files LeRobot rewrites in place, list every file under ``data/``,
  ``meta/episodes/`` and ``videos/``, then write the journal (tmp file, fsync, rename). From
  here until the commit a crash rolls the save back.
- ``commit``: fsync the new files (``durable``: survives power loss, not only a killed process),
  then delete the journal. Deleting the journal is the commit point.
- ``rollback`` (also what ``recover`` does with a journal left by a killed process): delete every
  file the journal does not list, put the copies back.

The writer only ever adds files to ``data/``, ``meta/episodes/`` and ``videos/`` (one file per
episode, see writer.py), so the listing is enough to undo a save.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from sim2real_recorder.errors import WriterStateError

logger = logging.getLogger(__name__)

TXN_DIR_NAME = ".sim2real_txn"
JOURNAL = "journal.json"
REWRITTEN = ("meta/info.json", "meta/stats.json", "meta/tasks.parquet")  # rewritten in place by LeRobot
APPENDED = ("data", "meta/episodes", "videos")  # trees LeRobot adds an episode's files to


def _files(root: Path) -> set[str]:
    found = set()
    for tree in APPENDED:
        base = root / tree
        if base.is_dir():
            found.update(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file())
    return found


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_atomically(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.restore")
    shutil.copyfile(source, tmp)
    _fsync(tmp)
    os.replace(tmp, target)


class SaveTransaction:
    def __init__(self, root: Path, txn: Path, journal: dict, durable: bool) -> None:
        self.root, self.txn, self.journal, self.durable = root, txn, journal, durable

    @classmethod
    def begin(cls, root: Path, *, durable: bool = True) -> SaveTransaction:
        root = Path(root)
        txn = root / TXN_DIR_NAME
        if (txn / JOURNAL).exists():
            raise WriterStateError(f"{txn / JOURNAL}: an interrupted save is pending: run recover({str(root)!r})")
        shutil.rmtree(txn, ignore_errors=True)
        backups = {}
        for rel in REWRITTEN:
            backups[rel] = (root / rel).exists()
            if backups[rel]:
                copy = txn / "backup" / rel
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / rel, copy)
                if durable:
                    _fsync(copy)
        journal = {"files": sorted(_files(root)), "backups": backups}
        txn.mkdir(parents=True, exist_ok=True)
        tmp = txn / f"{JOURNAL}.tmp"
        tmp.write_text(json.dumps(journal))
        if durable:
            _fsync(tmp)
        os.replace(tmp, txn / JOURNAL)
        if durable:
            _fsync(txn)
        return cls(root, txn, journal, durable)

    def new_files(self) -> list[str]:
        return sorted(_files(self.root) - set(self.journal["files"]))

    def commit(self) -> None:
        if self.durable:
            touched = {self.root / rel for rel in self.new_files()}
            touched |= {self.root / rel for rel in REWRITTEN if (self.root / rel).exists()}
            for path in touched:
                _fsync(path)
            for directory in {p.parent for p in touched}:
                _fsync(directory)
        (self.txn / JOURNAL).unlink()
        if self.durable:
            _fsync(self.txn)
        shutil.rmtree(self.txn, ignore_errors=True)

    def rollback(self) -> None:
        removed = self.new_files()
        for rel in removed:
            (self.root / rel).unlink(missing_ok=True)
        for rel, existed in self.journal["backups"].items():
            if existed:
                _replace_atomically(self.txn / "backup" / rel, self.root / rel)
            else:
                (self.root / rel).unlink(missing_ok=True)
        _remove_empty_dirs(self.root)
        (self.txn / JOURNAL).unlink()
        shutil.rmtree(self.txn, ignore_errors=True)
        logger.warning("rolled back an unfinished episode save in %s (removed %d file(s): %s)",
                       self.root, len(removed), ", ".join(removed) or "none")


def recover(root: Path | str) -> bool:
    """Roll back an episode save interrupted by a crash; True if there was one to undo."""
    root = Path(root)
    txn = root / TXN_DIR_NAME
    journal = txn / JOURNAL
    if not journal.exists():
        # No journal: the save never began, or it committed and was cleaning up. Both are final.
        shutil.rmtree(txn, ignore_errors=True)
        return False
    SaveTransaction(root, txn, json.loads(journal.read_text()), durable=True).rollback()
    return True


def _remove_empty_dirs(root: Path) -> None:
    for tree in APPENDED:
        base = root / tree
        if not base.is_dir():
            continue
        for directory in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                                reverse=True):
            if not any(directory.iterdir()):
                directory.rmdir()
