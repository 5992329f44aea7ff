"""A floor under the normalisation scale of near-constant dimensions.

A dimension that barely moves in the dataset (a bowl that is never moved, a jaw that never
turns) gets a std of ~0, and LeRobot normalises with ``(x - mean) / (std + 1e-8)``: the first
sub-millimetre jitter the policy meets in deployment becomes an input thousands of std out of
distribution, and the policy's output swings. The floor keeps such a dimension's scale at
``floor`` (in the feature's own units: rad, m, or [0, 1] pixels), so jitter stays small; every
dimension whose spread is above the floor is left as the dataset has it.
"""

from __future__ import annotations

import numpy as np

from sim2real_trainer.balanced_stats import RANGE_PAIRS

DEFAULT_STD_FLOOR = 0.01


def apply_std_floor(stats: dict, floor: float, names: dict[str, list[str]] | None = None) -> list[str]:
    """Raise ``std`` (and each range pair's half-width) to ``floor`` in LeRobot's
    ``dataset.meta.stats``, in place; returns ``feature[name]`` of each dimension it raised."""
    raised: dict[str, set[int]] = {}
    for feature, values in stats.items():
        if "std" in values:
            std = np.asarray(values["std"])
            low = np.flatnonzero(std < floor)
            if low.size:
                values["std"] = np.maximum(std, floor).astype(std.dtype)
                raised.setdefault(feature, set()).update(low.tolist())
        for low_key, high_key in RANGE_PAIRS:
            if low_key in values and high_key in values:
                lo, hi = np.asarray(values[low_key]), np.asarray(values[high_key])
                centre, half = (lo + hi) / 2, (hi - lo) / 2
                narrow = np.flatnonzero(half < floor)
                if narrow.size:
                    half = np.maximum(half, floor)
                    values[low_key], values[high_key] = (centre - half).astype(lo.dtype), (centre + half).astype(hi.dtype)
                    raised.setdefault(feature, set()).update(narrow.tolist())
    labels = []
    for feature, dims in raised.items():
        feature_names = (names or {}).get(feature)
        for dim in sorted(dims):
            label = feature_names[dim] if feature_names and dim < len(feature_names) else str(dim)
            labels.append(f"{feature}[{label}]")
    return labels
