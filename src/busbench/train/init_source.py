"""``model.init_from``: weights from another run are accepted only if their training images
include none of the current test images (exact or near-duplicate), since a model that trained
on a test image would make that image's score meaningless."""

from __future__ import annotations

from pathlib import Path

from busbench.data.duplicates.links import DuplicateSettings, cross_duplicate_links
from busbench.data.manifest import Manifest, load_manifest
from busbench.errors import BusbenchError
from busbench.train import checkpoint

OVERRIDE = "set model.init_from_test_overlap=allow to use them anyway (every table then says so)"


def init_source_overlap(source: Path, test_manifest: Manifest, test_ids: list[str],
                        settings: DuplicateSettings) -> set[str]:
    """The current test images that the weights in ``source`` were trained on.

    Exact copies are found from the pixel hashes the checkpoint records; near-duplicates need the
    source's manifest (its images) as recorded, and its absence is an error, not a pass.
    """
    record = checkpoint.load(source).get("training_images")
    if not record:
        raise BusbenchError(f"model.init_from {source}: the checkpoint records no training images (not a busbench "
                            "best.pt, or made by an older version), so it cannot be shown to exclude the current "
                            f"test set; train the source again with this busbench, or {OVERRIDE}")
    test_pixels = test_manifest.frame.set_index("case_id").loc[test_ids, "pixel_sha256"]
    exact = set(test_pixels[test_pixels.isin(set(record["pixel_sha256"]))].index)
    try:
        source_manifest = load_manifest(Path(record["manifest"]))
    except BusbenchError as exc:
        raise BusbenchError(f"model.init_from {source}: its training images' manifest {record['manifest']} cannot be "
                            f"read ({exc}), so near-duplicates of the test set cannot be ruled out; restore that "
                            f"manifest, or {OVERRIDE}") from exc
    known = set(source_manifest.frame["case_id"])
    train_ids = [c for c in record["case_ids"] if c in known]
    if not train_ids:
        return exact
    return exact | set(cross_duplicate_links(source_manifest, train_ids, test_manifest, test_ids, settings)["case_b"])


def check_init_source(source: Path | None, handling: str, test_manifest: Manifest, test_ids: list[str],
                      settings: DuplicateSettings, split_name: str) -> None:
    """Refuse ``source`` weights trained on any current test image, unless the user allowed it."""
    if source is None or handling == "allow":
        return
    seen = init_source_overlap(Path(source), test_manifest, test_ids, settings)
    if seen:
        raise BusbenchError(f"model.init_from {source}: its training images include {len(seen)} of the test images "
                            f"of {split_name} (e.g. {sorted(seen)[:5]}), exactly or as near-duplicates; start from "
                            f"weights trained without them, or {OVERRIDE}")
