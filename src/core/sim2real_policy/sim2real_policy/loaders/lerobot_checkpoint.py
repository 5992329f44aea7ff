"""Find the ``pretrained_model`` folder of a LeRobot checkpoint (LeRobot 0.4.4 layout).

Accepted, in this order:
- a ``pretrained_model`` folder itself (config.json + model.safetensors + processor files);
- a checkpoint step folder (``.../checkpoints/005000``) holding ``pretrained_model/``;
- a ``lerobot-train`` output folder: ``checkpoints/last/pretrained_model``, else the
  highest-numbered ``checkpoints/NNNNNN/pretrained_model``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim2real_common.errors import brief
from sim2real_policy.errors import CheckpointFileError, PolicyLoadError

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
PREPROCESSOR = "policy_preprocessor.json"
POSTPROCESSOR = "policy_postprocessor.json"
PRETRAINED_MODEL = "pretrained_model"
CHECKPOINTS = "checkpoints"
LAST = "last"


def find_pretrained_dir(path: str | Path) -> Path:
    """The pretrained_model folder for ``path``; PolicyLoadError saying what was looked for."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise PolicyLoadError(f"LeRobot checkpoint {path} is not a directory")
    if (path / CONFIG).is_file():
        return _checked(path)
    if (path / PRETRAINED_MODEL).is_dir():
        return _checked(path / PRETRAINED_MODEL)
    checkpoints = path / CHECKPOINTS
    if (checkpoints / LAST / PRETRAINED_MODEL).is_dir():
        return _checked(checkpoints / LAST / PRETRAINED_MODEL)
    steps = sorted(
        (int(d.name), d)
        for d in checkpoints.glob("*")
        if d.name.isdigit() and (d / PRETRAINED_MODEL).is_dir()
    )
    if steps:
        return _checked(steps[-1][1] / PRETRAINED_MODEL)
    raise PolicyLoadError(
        f"{path} is not a LeRobot checkpoint: found no {CONFIG}, no {PRETRAINED_MODEL}/, no "
        f"{CHECKPOINTS}/{LAST}/{PRETRAINED_MODEL}/ and no {CHECKPOINTS}/NNNNNN/{PRETRAINED_MODEL}/"
    )


def _checked(pretrained: Path) -> Path:
    """Refuse a folder without weights or saved processors: serving without the checkpoint's own
    normalisation gives plausible-looking but wrong actions."""
    missing = [
        name for name in (CONFIG, WEIGHTS, PREPROCESSOR, POSTPROCESSOR) if not (pretrained / name).is_file()
    ]
    if missing:
        hint = (
            " (checkpoints from LeRobot < 0.4 keep normalisation inside the model: convert them with "
            "lerobot's processor/migrate_policy_normalization.py)"
            if PREPROCESSOR in missing and WEIGHTS not in missing
            else ""
        )
        raise PolicyLoadError(f"LeRobot checkpoint {pretrained} lacks {', '.join(missing)}{hint}")
    check_files(pretrained)
    return pretrained


def check_files(pretrained: Path) -> None:
    """Read what LeRobot will read, so that a truncated or corrupt file is named here instead of
    surfacing as a SafetensorError, JSONDecodeError or a Hub look-up of the folder's path: the
    JSON files parse, every processor state file they name is there, and every safetensors file
    has an intact header that covers the file (safetensors checks the size; tensor bytes carry no
    checksum, so damage inside them is not found)."""
    read_json(pretrained / CONFIG, "a LeRobot policy config (JSON)")
    check_safetensors(pretrained / WEIGHTS)
    for name in (PREPROCESSOR, POSTPROCESSOR):
        pipeline = read_json(pretrained / name, "a LeRobot processor pipeline (JSON)")
        steps = pipeline.get("steps") if isinstance(pipeline, dict) else None
        if not isinstance(steps, list):
            raise CheckpointFileError(pretrained / name, "a LeRobot processor pipeline (JSON with a 'steps' list)",
                                      f"it holds {type(steps).__name__ if steps is not None else 'no steps'}")
        for index, step in enumerate(steps):
            state_file = step.get("state_file") if isinstance(step, dict) else None
            if state_file is None:
                continue
            path = pretrained / state_file
            if not path.is_file():
                raise PolicyLoadError(f"LeRobot checkpoint {pretrained} lacks {state_file}, the state (normalisation "
                                      f"statistics) of step {index} ({step.get('registry_name')}) of {name}: copy "
                                      "the whole pretrained_model folder again")
            check_safetensors(path)


def read_json(path: Path, expected: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointFileError(path, expected, f"it does not parse ({brief(err)})") from err


def check_safetensors(path: Path) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as file:
            file.keys()
    except SafetensorError as err:
        raise CheckpointFileError(path, "a safetensors file", f"its header is unreadable ({brief(err)})") from err
