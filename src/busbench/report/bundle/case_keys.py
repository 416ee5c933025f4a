"""The key of each test case in a bundle, the one that pairs two labs' results.

* The split came from a registry (``busbench split --registry``): the registry's case id, which the
  split recorded (``SplitRegistry.case_keys``).
* ``--registry NAME`` on a run split before registries: the run's test cases are matched to the
  registry by content (``match_cases``: identical pixels, then thumbnails; a manifest older than the
  thumbnails is matched on identical pixels only). Accepted only when the run's test set is exactly
  the registry's; then the registry's ids. So a run made before registries joins a leaderboard.
* Otherwise the case's pixel hash: such a bundle ranks only beside runs on the same test images.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.data.content.matching import EXACT, FINGERPRINT_COLUMNS, match_cases
from busbench.data.manifest import Manifest
from busbench.data.registry.record import load_registry, registry_test_set_sha256
from busbench.data.split.record import TEST, Split, SplitRegistry
from busbench.errors import BusbenchError
from busbench.log import counted, listed
from busbench.report.bundle.record import CONTENT, REGISTRY, HeldOutSet


def _from_split(recorded: SplitRegistry, pixels: dict[str, str], registry_name: str | None,
                where: Path) -> tuple[dict[str, str], HeldOutSet]:
    if registry_name is not None and load_registry(registry_name)[2] != recorded.sha256:
        raise BusbenchError(f"{where}: its split was made from registry {recorded.name}, not from --registry "
                            f"{registry_name}; leave --registry out (its cases already carry {recorded.name}'s ids)")
    unkeyed = sorted(set(pixels) - set(recorded.case_keys))
    if unkeyed:
        raise BusbenchError(f"{where}: its split records no registry id for {counted(len(unkeyed), 'test case')} "
                            f"({listed(unkeyed)}): made before busbench recorded them; bundle it with --registry "
                            f"{recorded.name}, which matches the cases by content")
    held_out = HeldOutSet(keys=REGISTRY, registry=recorded.name, registry_sha256=recorded.sha256,
                          registry_test_set_sha256=recorded.test_set_sha256, matched="the split's registry ids",
                          content_sha256=registry_test_set_sha256(pixels.values()), cases=len(pixels))
    return {case: recorded.case_keys[case] for case in pixels}, held_out


def _matched(manifest: Manifest, pixels: dict[str, str], registry_name: str,
             where: Path) -> tuple[dict[str, str], HeldOutSet]:
    registry, _, sha256 = load_registry(registry_name)
    reference = registry.frame()
    query = manifest.frame.set_index("case_id", drop=False).loc[sorted(pixels)].reset_index(drop=True)
    tolerant = set(FINGERPRINT_COLUMNS) <= set(query.columns)  # older manifests have no thumbnails
    matches = match_cases(reference, query, tolerant)
    registry_test = set(reference.loc[reference["part"] == TEST, "case_id"])
    keys = {q: r for q, r in zip(matches["query_id"], matches["reference_id"]) if r in registry_test}
    outside = sorted(set(pixels) - set(keys))
    missing = sorted(registry_test - set(keys.values()))
    how = "identical pixels and thumbnails" if tolerant else "identical pixels (the manifest has no thumbnails)"
    if outside or missing:
        raise BusbenchError(
            f"{where}: its test set is not registry {registry.name}'s (matched by {how}): "
            f"{len(outside)} of its {len(pixels)} test cases are not registry test cases "
            f"({listed(outside) or 'none'}), "
            f"{len(missing)} of the registry's {len(registry_test)} test cases are not in it "
            f"({listed(missing) or 'none'}). Bundle it without --registry, or run it again on "
            f"`busbench split --registry {registry.name}`")
    levels = set(matches.loc[matches["query_id"].isin(list(keys)), "level"])
    held_out = HeldOutSet(keys=REGISTRY, registry=registry.name, registry_sha256=sha256,
                          registry_test_set_sha256=registry.test_set_sha256,
                          matched=f"by content when bundled: {'identical pixels' if levels == {EXACT} else how}",
                          content_sha256=registry_test_set_sha256(pixels.values()), cases=len(pixels))
    return keys, held_out


def case_keys(split: Split, manifest: Manifest, registry_name: str | None,
              where: Path) -> tuple[dict[str, str], HeldOutSet]:
    """Test case id -> its key, and the test set the keys name; ``where`` (the cell) names refusals."""
    rows = manifest.frame.set_index("case_id")
    pixels = {case: str(rows.loc[case, "pixel_sha256"]) for case in split.held_out()}
    if split.registry is not None:
        return _from_split(split.registry, pixels, registry_name, where)
    if registry_name is not None:
        return _matched(manifest, pixels, registry_name, where)
    held_out = HeldOutSet(keys=CONTENT, content_sha256=registry_test_set_sha256(pixels.values()), cases=len(pixels))
    return pixels, held_out


def pixel_hashes(manifest: Manifest) -> pd.Series:
    """Case id -> pixel hash, the content every bundle row carries."""
    return manifest.frame.set_index("case_id")["pixel_sha256"].astype(str)
