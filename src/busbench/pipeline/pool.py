"""Pooled development (``data.pool``): two or more datasets trained on together, each keeping its own
frozen split.

The pool is written as a dataset of its own under ``OUTPUT_DIR/data/pool-<names>-<hash>/``: a manifest
of every member's cases (ids ``<member key>:<case id>``, files where the members' manifests put them),
a split and a cache, so training, model selection, post-processing and scoring run on it unchanged.
Its split is the members' splits put together: the test set is every member's test set (the report
scores each on its own), fold k is every member's fold k (so each keeps its strata and groups). Two
things are added across datasets, both found by the duplicate search that ``eval.cross_datasets``
uses (``cross_duplicate_links``):

- a development image that duplicates (exactly or nearly) another member's test image is dropped
  from the pool: it is never trained on, and the split records it (``pool`` in its settings);
- duplicates between two members' development images are put into one leakage group, moved to the
  fold of the group's first case, so no copy sits on the other side of a fold.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from busbench.config import ExperimentConfig
from busbench.data.cache import build_cache
from busbench.data.duplicates.links import cross_duplicate_links
from busbench.data.integrity import MTIMES
from busbench.data.manifest import MANIFEST_META, Manifest, load_manifest, write_manifest
from busbench.data.prepared import PreparedData
from busbench.data.split.record import SPLIT_FORMAT, Split
from busbench.data.split.split_file import read_split, test_set_sha256, write_split
from busbench.errors import BusbenchError
from busbench.layout.folders import data_folder
from busbench.log import counted, logger

SEPARATOR = ":"  # pooled case id: <member dataset key>:<its case id>
POOL_META = "pool_sha256"  # manifest.json: what the pooled manifest was made from


def pooled_id(member: str, case_id: str) -> str:
    return f"{member}{SEPARATOR}{case_id}"


@dataclass(frozen=True)
class Member:
    key: str
    data: PreparedData


def check_fold_counts(members: list[Member]) -> int:
    """The members' common fold count; unequal counts cannot be pooled fold by fold."""
    counts = {m.key: m.data.split.folds for m in members}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{key} {n}" for key, n in counts.items())
        raise BusbenchError(f"data.pool: the pooled datasets' splits have different fold counts ({listed}); fold k of "
                            "the pool is every dataset's fold k, so they must agree: set split.folds (and leave "
                            "split.official / split.registry, which fix a dataset's own fold count, unset)")
    return next(iter(counts.values()))


def _identity(members: list[Member], cfg: ExperimentConfig) -> str:
    fields = [[m.key, m.data.manifest.sha256, m.data.split_sha256] for m in members]
    duplicates = cfg.split.settings().duplicates
    return hashlib.sha256(json.dumps([fields, repr(duplicates)]).encode()).hexdigest()


def _seen_in_other_tests(members: list[Member], cfg: ExperimentConfig) -> dict[str, str]:
    """Pooled development id -> the other member's test image it duplicates (never to be trained on)."""
    settings = cfg.split.settings().duplicates
    dropped: dict[str, str] = {}
    for a in members:
        for b in members:
            if a is b:
                continue
            links = cross_duplicate_links(a.data.manifest, a.data.development.case_ids(), b.data.manifest,
                                          b.data.test_ids(), settings)
            for case_a, case_b in zip(links["case_a"], links["case_b"], strict=True):
                dropped.setdefault(pooled_id(a.key, case_a), pooled_id(b.key, case_b))
    return dropped


def _cross_development_links(members: list[Member], cfg: ExperimentConfig, dropped: dict[str, str]) -> list[
        tuple[str, str]]:
    """Duplicate pairs between two members' kept development images."""
    settings = cfg.split.settings().duplicates
    pairs = []
    for i, a in enumerate(members):
        for b in members[i + 1:]:
            keep_a = [c for c in a.data.development.case_ids() if pooled_id(a.key, c) not in dropped]
            keep_b = [c for c in b.data.development.case_ids() if pooled_id(b.key, c) not in dropped]
            links = cross_duplicate_links(a.data.manifest, keep_a, b.data.manifest, keep_b, settings)
            pairs += [(pooled_id(a.key, x), pooled_id(b.key, y)) for x, y in zip(links["case_a"], links["case_b"],
                                                                                     strict=True)]
    return pairs


def _development(members: list[Member], case: str) -> bool:
    key, _, case_id = case.partition(SEPARATOR)
    return any(m.key == key and case_id in m.data.development.fold_of for m in members)


def _groups(members: list[Member], links: list[tuple[str, str]]) -> dict[str, str]:
    """Pooled id -> its group's first id: each member's leakage groups joined by the cross links."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(x: str, y: str) -> None:
        a, b = sorted((find(x), find(y)))
        parent[b] = a

    for m in members:
        first: dict[int, str] = {}
        for case_id, group in sorted(m.data.split.groups.items()):
            join(first.setdefault(group, pooled_id(m.key, case_id)), pooled_id(m.key, case_id))
    for x, y in links:
        join(x, y)
    return {x: find(x) for x in list(parent)}


def _manifest_frame(members: list[Member], dropped: dict[str, str]) -> tuple[pd.DataFrame, Path, dict[str, int]]:
    """The members' manifest rows (dropped ones left out), their files relative to a common root."""
    root = Path(os.path.commonpath([str(m.data.manifest.root.resolve()) for m in members]))
    frames, times = [], {}
    for m in members:
        frame = m.data.manifest.frame.copy()
        own_root = m.data.manifest.root.resolve()

        def moved(name: str, own_root: Path = own_root) -> str:
            return os.path.relpath(own_root / name, root)

        frame["case_id"] = [pooled_id(m.key, c) for c in frame["case_id"]]
        frame["patient_id"] = [pooled_id(m.key, p) if p else "" for p in frame["patient_id"]]
        frame["image_path"] = frame["image_path"].map(moved)
        frame["mask_paths"] = [json.dumps([moved(p) for p in json.loads(paths)]) for paths in frame["mask_paths"]]
        frames.append(frame[~frame["case_id"].isin(set(dropped))])
        recorded = json.loads(m.data.manifest.path.with_name(MANIFEST_META).read_text()).get(MTIMES, {})
        times.update({moved(name): value for name, value in recorded.items()})
    frame = pd.concat(frames, ignore_index=True)
    meta_columns = [c for c in frame.columns if c.startswith("meta_")]
    for column in meta_columns:  # a column only some datasets have: empty for the others
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
    return frame, root, times


def _split(members: list[Member], manifest: Manifest, frame: pd.DataFrame, folds: int, dropped: dict[str, str],
           groups: dict[str, str]) -> Split:
    kept = set(frame["case_id"])
    group_number = {first: i for i, first in enumerate(sorted(set(groups.values())))}
    fold_of: dict[str, int] = {}
    for m in members:
        for case_id, number in m.data.development.fold_of.items():
            fold_of[pooled_id(m.key, case_id)] = number
    group_fold = {first: fold_of[first] for first in group_number if first in fold_of}
    cases: list[dict[str, object]] = []
    links: list[list[object]] = []
    moved: list[str] = []
    test_ids: list[str] = []
    for m in members:
        links += [[pooled_id(m.key, a), pooled_id(m.key, b), measure, value]
                  for a, b, measure, value in m.data.split.duplicate_links]
        for case in m.data.split.cases:
            case_id = pooled_id(m.key, case.case_id)
            if case_id not in kept:
                continue
            group = groups[case_id]
            fold = None if case.fold is None else group_fold.get(group, case.fold)
            test_ids += [case_id] if fold is None else []
            if fold != case.fold:
                moved.append(case_id)
            cases.append({"case_id": case_id, "set": case.set, "fold": fold, "group": group_number[group],
                          "stratum": case.stratum, "duplicate": case.duplicate})
    test = frame.set_index("case_id").loc[sorted(test_ids), "pixel_sha256"]
    pooled = [{"key": m.key, "dataset": m.data.manifest.dataset, "split_file": str(m.data.split_path),
               "split_sha256": m.data.split_sha256, "test_set_sha256": m.data.test_set_sha256,
               "test_images": len(m.data.test_ids()), "development_images": len(m.data.development.fold_of),
               "dropped": {case: twin for case, twin in sorted(dropped.items())
                           if case.startswith(m.key + SEPARATOR)}} for m in members]
    return Split.model_validate({
        "format": SPLIT_FORMAT, "dataset": "+".join(m.data.manifest.dataset for m in members),
        "manifest": {"file": manifest.path.name, "sha256": manifest.sha256},
        "settings": {"pool": pooled, "moved_to_their_duplicates_fold": moved}, "folds": folds,
        "size_tertiles": [], "duplicate_images": sum(1 for c in cases if c["duplicate"]), "duplicate_links": links,
        "user_links": {}, "large_groups": [], "test_set_sha256": test_set_sha256(list(test.index), test.tolist()),
        "cases": sorted(cases, key=lambda c: str(c["case_id"])), "registry": None})


def prepare_pool(cfg: ExperimentConfig, members_data: list[PreparedData]) -> PreparedData:
    """The pool of ``cfg.data.pool`` (each member already prepared), written once and reused."""
    members = [Member(d.key(), data) for d, data in zip(cfg.data.pool, members_data, strict=True)]
    folds = check_fold_counts(members)
    identity = _identity(members, cfg)
    folder = data_folder(cfg.output_dir, cfg.data.key())
    split_path = folder / f"split-pool-{identity[:8]}.json"
    meta_path = folder / MANIFEST_META
    made = meta_path.is_file() and json.loads(meta_path.read_text()).get(POOL_META) == identity
    if not (made and split_path.is_file()):
        logger.info(f"pooling {', '.join(m.key for m in members)}: searching each development set for duplicates "
                    "of the other datasets' test images and development images")
        dropped = _seen_in_other_tests(members, cfg)
        groups = _groups(members, [])
        twin_of_group = {groups[case]: twin for case, twin in dropped.items()}
        dropped.update({case: twin_of_group[root] for case, root in groups.items()  # a dropped image's group with it
                        if root in twin_of_group and case not in dropped and _development(members, case)})
        groups = _groups(members, _cross_development_links(members, cfg, dropped))
        frame, root, times = _manifest_frame(members, dropped)
        write_manifest(frame, folder, {"root": str(root), "dataset": cfg.data.key(), "options": {},
                                       POOL_META: identity, MTIMES: times})
        manifest = load_manifest(folder)
        write_split(_split(members, manifest, frame, folds, dropped, groups), split_path)
        logger.info(f"pool split written: {split_path}")
    manifest = load_manifest(folder)
    split = read_split(split_path, manifest)
    for entry in split.settings["pool"]:
        if entry["dropped"]:
            logger.warning(f"pool: {counted(len(entry['dropped']), 'development image')} of {entry['key']} dropped, "
                           f"duplicates of another pooled dataset's test images: {', '.join(entry['dropped'])}")
    moved_cases = split.settings["moved_to_their_duplicates_fold"]
    if moved_cases:
        logger.info(f"pool: {counted(len(moved_cases), 'development image')} moved to the fold of their "
                    "duplicates in another pooled dataset")
    cache = build_cache(manifest, cfg.input.size, cfg.input.resize, cfg.input.channels)
    return PreparedData(manifest, split_path, split, cache)
