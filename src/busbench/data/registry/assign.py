"""``busbench split --registry``: a copy of a dataset split as a registry says, case by case by
content, with no duplicate search; so the same on any OpenCV, any file names, any resolution.

Cases of the copy that the registry lacks ("extra") and registry cases the copy lacks ("missing")
are refused unless ``split.registry_mismatch`` allows them. Then an extra case joins the group
and fold of the registry case it resembles (thumbnail correlation of a near-duplicate) or gets a
group of its own in a fold by turns; it never joins the test set, and one that resembles a test
case (by thumbnail, or by the keypoint search of ``data.duplicates``) is refused, since training on
it would leak. A case whose image is a registry case's but whose mask differs is always refused.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from busbench.data.content.matching import same_mask, thumbnail_correlation
from busbench.data.duplicates.links import DuplicateSettings, cross_duplicate_links
from busbench.data.manifest import Manifest
from busbench.data.registry.record import Registry, match_copy, registry_test_set_sha256
from busbench.data.split.record import CV, SPLIT_FORMAT, TEST, Split
from busbench.data.split.split_file import test_set_sha256
from busbench.data.split.stratify import size_tertiles, strata
from busbench.errors import BusbenchError
from busbench.log import counted, listed

NEAR_DUPLICATE_CORRELATION = 0.95  # thumbnails this close are treated as one lesion's frames


def registry_split_name(name: str, sha256: str, mismatch: bool) -> str:
    """``split-registry-<name>-<hash of the registry file and the mismatch setting>.json``."""
    digest = hashlib.sha256(json.dumps([sha256, mismatch]).encode()).hexdigest()[:8]
    return f"split-registry-{name}-{digest}.json"


def _refuse_mismatch(registry: Registry, manifest: Manifest, extra: list[str], missing: list[str]) -> None:
    parts = [f"{counted(len(extra), 'case')} of your copy not in it ({listed(extra)})" if extra else "",
             f"{counted(len(missing), 'registry case')} missing from your copy ({listed(missing)})" if missing else ""]
    raise BusbenchError(
        f"{manifest.path}: does not match registry {registry.name}: {'; '.join(p for p in parts if p)}. "
        f"List every case with `busbench verify {manifest.path.parent} --registry {registry.name}`; to split anyway "
        "(extra cases go to development only, tables say how many) pass --allow-mismatch "
        "(split.registry_mismatch: true)")


def _refuse_changed_masks(registry: Registry, manifest: Manifest, role_of: dict[str, str]) -> None:
    """A case whose image is a registry case's but whose mask is not has other ground truth: its role cannot be
    the registry's (in the test set, the test set would no longer be the registry's), whatever the mismatch rule."""
    cases = {str(case_id): row for case_id, row in registry.frame().set_index("case_id").iterrows()}
    rows = {str(case_id): row for case_id, row in manifest.frame.set_index("case_id").iterrows()}
    changed = sorted(copy_id for copy_id, registry_id in role_of.items()
                     if not same_mask(cases[registry_id], rows[copy_id]))
    if changed:
        raise BusbenchError(
            f"{manifest.path}: {counted(len(changed), 'case')} with a registry {registry.name} image but another mask "
            f"({listed(changed)}): their ground truth is not the registry's. Restore those masks from the "
            f"authors' download (`busbench verify {manifest.path.parent} --registry {registry.name}` lists them as "
            "changed), or build your own registry from your copy with `busbench registry build`")


def _extra_roles(registry: Registry, manifest: Manifest, extra: list[str], test_ids: list[str]
                 ) -> dict[str, tuple[int, int]]:
    """Extra case -> (fold, group): a near-duplicate's group, or a new group in a fold by turns. One that is a
    near-duplicate of a test image is refused: by its thumbnail, or by the keypoint search a split of one's own
    runs (a crop or a zoom the thumbnails miss)."""
    cases, frame = registry.frame(), manifest.frame
    rows = frame.set_index("case_id", drop=False).loc[extra].reset_index(drop=True)
    correlation = thumbnail_correlation(rows, cases)
    best = correlation.argmax(axis=1) if len(cases) else np.zeros(len(rows), dtype=int)
    leaking = {cid for i, cid in enumerate(rows["case_id"])
               if correlation[i, best[i]] >= NEAR_DUPLICATE_CORRELATION and cases["part"].iloc[best[i]] == TEST}
    if test_ids:
        leaking |= set(cross_duplicate_links(manifest, extra, manifest, test_ids, DuplicateSettings())["case_a"])
    if leaking:
        raise BusbenchError(f"{listed(sorted(leaking))}: not in the registry, but near-duplicates of its test images; "
                            "training on them would leak. Remove them from the copy, or build your own registry "
                            "with `busbench registry build`")
    next_group = int(cases["group"].max()) + 1 if len(cases) else 0
    roles: dict[str, tuple[int, int]] = {}
    order = np.argsort(rows["pixel_sha256"].to_numpy(), kind="stable")  # by content: the same on every copy
    for turn, i in enumerate(order):
        cid = rows["case_id"].iloc[i]
        if correlation[i, best[i]] >= NEAR_DUPLICATE_CORRELATION:
            roles[cid] = int(cases["fold"].iloc[best[i]]), int(cases["group"].iloc[best[i]])
        else:
            roles[cid] = 1 + turn % registry.folds, next_group + turn
    return roles


def plan_registry_split(manifest: Manifest, registry: Registry, registry_sha256: str, mismatch: bool) -> Split:
    """``manifest``'s split as ``registry`` records it (matched by content)."""
    manifest.require_fingerprints("a split from a registry")
    frame = manifest.frame
    cases = registry.frame().set_index("case_id", drop=False)
    matches = match_copy(registry, frame, manifest.path)
    role_of = dict(zip(matches["query_id"], matches["reference_id"]))
    extra = sorted(set(frame["case_id"]) - set(role_of))
    missing = sorted(set(cases.index) - set(role_of.values()))
    if (extra or missing) and not mismatch:
        _refuse_mismatch(registry, manifest, extra, missing)
    _refuse_changed_masks(registry, manifest, role_of)
    copy_test_ids = sorted(c for c, r in role_of.items() if cases.loc[r, "part"] == TEST)
    extra_roles = _extra_roles(registry, manifest, extra, copy_test_ids) if extra else {}
    stratum = strata(frame, size_tertiles(frame))
    group_sizes = cases["group"].value_counts()
    registry_roles = {cid: (str(part), fold, int(group)) for cid, part, fold, group
                      in zip(cases["case_id"], cases["part"], cases["fold"], cases["group"])}
    rows = []
    for case_id, case_stratum in zip(frame["case_id"], stratum):
        if case_id in role_of:
            part, fold, group = registry_roles[role_of[case_id]]
        else:
            part, (fold, group) = CV, extra_roles[case_id]
        rows.append({"case_id": case_id, "set": TEST if part == TEST else CV,
                     "fold": None if part == TEST else int(fold), "group": group, "stratum": case_stratum,
                     "duplicate": bool(group_sizes.get(group, 1) > 1)})
    test_ids = [row["case_id"] for row in rows if row["set"] == TEST]
    local = frame.set_index("case_id")
    registry_test = registry_test_set_sha256(cases.loc[[role_of[c] for c in test_ids], "pixel_sha256"])
    return Split.model_validate({
        "format": SPLIT_FORMAT, "dataset": manifest.dataset,
        "manifest": {"file": manifest.path.name, "sha256": manifest.sha256},
        "settings": {"registry": registry.name, "registry_sha256": registry_sha256, "registry_mismatch": mismatch},
        "folds": registry.folds, "size_tertiles": list(size_tertiles(frame)),
        "duplicate_images": sum(row["duplicate"] for row in rows), "duplicate_links": [], "user_links": {},
        "large_groups": [], "test_set_sha256": test_set_sha256(test_ids, local.loc[test_ids, "pixel_sha256"].tolist()),
        "cases": sorted(rows, key=lambda row: row["case_id"]),
        "registry": {"name": registry.name, "sha256": registry_sha256,
                     "test_set_sha256": registry_test,
                     "extra_cases": extra, "missing_cases": missing, "case_keys": role_of},
    })
