"""Which test images a model has already seen: exact or near-duplicate copies of its training
images, possibly in another dataset. Used before ``model.init_from`` weights are trusted and
before a fold model is scored on another dataset's test set."""

from __future__ import annotations

from busbench.data.duplicates import DuplicateSettings, cross_duplicate_links
from busbench.data.manifest import Manifest


def seen_in_training(train_manifest: Manifest, train_ids: list[str], test_manifest: Manifest, test_ids: list[str],
                     settings: DuplicateSettings) -> set[str]:
    """The ``test_ids`` that are exact or near-duplicates of an image in ``train_ids``."""
    if not train_ids or not test_ids:
        return set()
    links = cross_duplicate_links(train_manifest, train_ids, test_manifest, test_ids, settings)
    return set(links["case_b"])
