"""Find the ``pretrained_model`` folder of a LeRobot checkpoint (LeRobot 0.4.4 layout).

Accepted, in this order:
- a ``pretrained_model`` folder itself (config.json + model.safetensors + processor files);
- a checkpoint step folder (``.../checkpoints/005000``) holding ``pretrained_model/``;
- a ``lerobot-train`` output folder: ``checkpoints/last/pretrained_model``, else the
  highest-numbered ``checkpoints/NNNNNN/pretrained_model``.
"""

from __future__ import annotations

from pathlib import Path

from so101_policy.errors import PolicyLoadError

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
    return pretrained
