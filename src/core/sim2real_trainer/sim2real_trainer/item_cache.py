"""Keep a camera-less dataset's training items in memory after their first read.

Without images, a LeRobot item (state, environment state, an action chunk with its padding mask)
is the same every time it is read, yet building it from the Arrow table costs ~4 ms: on a
state-only ACT that is nearly half of each step here. Items are ~1 kB, so a dataset of 100k
frames costs ~100 MB. Used with in-process loading only (worker processes would each fill, and
then lose, their own copy every epoch).
"""

from __future__ import annotations

from typing import Any

import torch


class ItemCache(torch.utils.data.Dataset):
    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self._items: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        item = self._items.get(index)
        if item is None:
            item = self._items[index] = self.dataset[index]
        return item


def cacheable(dataset: Any, num_workers: int) -> bool:
    """No camera features, no image transforms, and loading in this process."""
    return num_workers == 0 and not dataset.meta.camera_keys and getattr(dataset, "image_transforms", None) is None
