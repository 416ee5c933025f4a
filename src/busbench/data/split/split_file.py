"""`busbench split`: the frozen held-out test set and the cross-validation folds.

The test set is cut first, from the whole manifest, then the rest is divided into k folds; both
cuts are stratified (label x lesion-size tertile) and keep leakage groups (patient, exact and
near-duplicate images) whole. The split file records each case's role, the settings, the size
tertiles, the duplicate links that formed the groups, the manifest's checksum and a checksum of the
test set. It is written without timestamps, so the same inputs give the same bytes; it is never
silently replaced. Planned and read back, it is a ``Split`` (``record.py``).

Its name says its settings (``split_file_name``), so several splits of one dataset (a quick
2-fold run and the 5-fold benchmark, say) live side by side. The test set depends only on the
test settings (size, seed, duplicate settings, link file), never on the number of folds, so every
split with the same test settings holds out the same test images.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from busbench.data.duplicates.links import DuplicateSettings, duplicate_links
from busbench.data.duplicates.reviewed import reviewed_cases_sha256, reviewed_duplicates, reviewed_pairs_sha256
from busbench.data.labels import NORMAL
from busbench.data.manifest import Manifest
from busbench.data.split.assign import assign_groups
from busbench.data.split.feasibility import Cut, Roles, checked_cut
from busbench.data.split.grouping import PATIENT, REVIEWED, LeakageGroups, leakage_groups, patient_links
from busbench.data.split.image_level import image_level_roles
from busbench.data.split.record import CV, GROUPED, IMAGE_LEVEL, SPLIT_FORMAT, TEST, Split, load_split
from busbench.data.split.stratify import size_tertiles, strata
from busbench.data.split.user_links import CANNOT_LINK_VALUE, MUST_LINK_VALUE, UserLinks, read_user_links
from busbench.errors import BusbenchError
from busbench.layout.atomic import write_bytes
from busbench.log import counted

PROTOCOLS = (GROUPED, IMAGE_LEVEL)


@dataclass(frozen=True)
class SplitSettings:
    """How a split is made; recorded in the split file."""

    test_size: float = 0.2
    folds: int = 5
    seed: int = 42
    official: bool = False
    official_test_fold: int = 1
    duplicates: DuplicateSettings = field(default_factory=DuplicateSettings)
    # CSV of case_a, case_b, relation (must-link | cannot-link): the user's corrections to the grouping.
    # A case is named by its case id or its pixel_sha256 (read_user_links).
    links_file: str | None = None
    # Keep the duplicates of busbench's reviewed pairs (busbench.data.duplicates.reviewed, by content) together.
    reviewed_links: bool = True
    # "grouped": busbench's split (patients and duplicates kept on one side). "image_level": the leaky
    # split of published benchmarks, which cuts image by image (busbench.data.split.image_level).
    protocol: str = GROUPED
    # A registry's name or file (busbench.data.registry): every case's role comes from it by content.
    registry: str | None = None
    # With a registry: cases it lacks go to development, and registry cases missing here are left out.
    registry_mismatch: bool = False

    def check(self) -> None:
        if not self.official and not 0.0 < self.test_size < 1.0:
            raise BusbenchError(f"--test-size must be between 0 and 1 (exclusive), got {self.test_size}")
        if not self.official and self.folds < 2:
            raise BusbenchError(f"--folds must be at least 2, got {self.folds}")
        if self.protocol not in PROTOCOLS:
            raise BusbenchError(f"split.protocol {self.protocol!r} unknown; use one of {', '.join(PROTOCOLS)}")
        if self.official and self.protocol != GROUPED:
            raise BusbenchError("--official uses the dataset's own partition; it cannot be combined with "
                                f"split.protocol={self.protocol}")
        if self.registry is not None and (self.official or self.protocol != GROUPED):
            raise BusbenchError(f"split.registry {self.registry!r} gives every case its role; it cannot be combined "
                                "with split.official or split.protocol=image_level")
        self.duplicates.check()

    def recorded(self, links: UserLinks) -> dict[str, object]:
        """The settings as the split file records them: the link file by its content, not its path."""
        recorded = asdict(self)
        recorded.pop("links_file")
        for name in ("registry", "registry_mismatch"):  # a registry's split records them itself
            recorded.pop(name)
        if self.protocol == GROUPED:  # the default: splits made before the setting existed keep their name
            recorded.pop("protocol")
        recorded["links_sha256"] = links.sha256
        if self.reviewed_links:
            recorded["reviewed_pairs_sha256"] = reviewed_pairs_sha256()
            recorded["reviewed_cases_sha256"] = reviewed_cases_sha256()
        return recorded


def split_command(manifest_path: Path, settings: SplitSettings) -> str:
    """The `busbench split` command that re-makes this split (replacing the file, with --force)."""
    words = ["busbench split", str(manifest_path)]
    if settings.registry is not None:
        return " ".join(words + [f"--registry {settings.registry}"]
                        + (["--allow-mismatch"] if settings.registry_mismatch else []) + ["--force"])
    if settings.official:
        words += ["--official", f"--official-test-fold {settings.official_test_fold}"]
    else:
        words += [f"--test-size {settings.test_size:g}", f"--folds {settings.folds}", f"--seed {settings.seed}"]
    if settings.links_file:
        words.append(f"--links-file {settings.links_file}")
    default = DuplicateSettings()
    words += [f"--set {name}={getattr(settings.duplicates, name)}" for name in DuplicateSettings.__dataclass_fields__
              if getattr(settings.duplicates, name) != getattr(default, name)]
    return " ".join(words + ["--force"])


SPLIT_FILES = "split*.json"  # every split file of a data folder, whatever made it (`split --out` names its own)


def split_file_name(settings: SplitSettings, links: UserLinks = UserLinks()) -> str:
    """``split-<what>-<hash of every setting>.json``: one file per settings, side by side."""
    digest = hashlib.sha256(json.dumps(settings.recorded(links), sort_keys=True).encode()).hexdigest()[:8]
    if settings.official:
        return f"split-official-test{settings.official_test_fold}-{digest}.json"
    return f"split-test{settings.test_size:g}-seed{settings.seed}-k{settings.folds}-{digest}.json"


def test_set_sha256(case_ids: list[str], pixel_hashes: list[str]) -> str:
    """Checksum of the held-out test set: its sorted case ids and their pixel hashes."""
    digest = hashlib.sha256()
    for case_id, pixels in sorted(zip(case_ids, pixel_hashes)):
        digest.update(f"{case_id}\t{pixels}\n".encode())
    return digest.hexdigest()


def _official_roles(manifest: Manifest, settings: SplitSettings) -> tuple[np.ndarray, np.ndarray]:
    official = manifest.frame["official_fold"]
    if official.isna().any():
        missing = manifest.frame.loc[official.isna(), "case_id"].head(5).tolist()
        raise BusbenchError(
            f"{manifest.path}: --official needs the dataset's own partition, but cases such as {missing} "
            "have no official_fold (only some adapters, e.g. busbra, provide one); drop --official"
        )
    values = official.astype(int).to_numpy()
    available = sorted(set(values.tolist()))
    if settings.official_test_fold not in available:
        raise BusbenchError(
            f"--official-test-fold {settings.official_test_fold} is not one of the official folds {available}"
        )
    is_test = values == settings.official_test_fold
    renumber = {old: new for new, old in enumerate((f for f in available if f != settings.official_test_fold), 1)}
    folds = np.array([0 if t else renumber[v] for v, t in zip(values.tolist(), is_test)])
    return is_test, folds


def _grouped_cut(groups: np.ndarray, stratum: np.ndarray, seed: int) -> Cut:
    """busbench's cut: the test set from the whole, then the folds from the rest, groups whole."""

    def cut(test_size: float, folds: int) -> Roles:
        is_test = assign_groups(groups, stratum, [test_size, 1 - test_size], seed) == 0
        dev = ~is_test
        available = len(np.unique(groups[dev]))
        if available < folds:
            raise ValueError(f"the development part would hold {counted(available, 'group')}, fewer than {folds} folds")
        fold = np.zeros(len(groups), dtype=np.int64)
        fold[dev] = 1 + assign_groups(groups[dev], stratum[dev], [1.0] * folds, seed + 1)
        return is_test, fold

    return cut


def large_groups(leakage: LeakageGroups, frame: pd.DataFrame, limit: float) -> list[dict[str, object]]:
    """Groups of more than ``limit`` images (and more than one), with their members and the links that
    formed them."""
    sizes = np.bincount(leakage.labels)
    ids = frame["case_id"].to_numpy()
    found = []
    for group in np.flatnonzero((sizes > limit) & (sizes > 1)):  # one image is no group to keep together
        members = sorted(ids[leakage.labels == group].tolist())
        inside = leakage.links[leakage.links["case_a"].isin(members)]
        found.append({"group": int(group), "size": int(sizes[group]), "members": members,
                      "links": [[a, b, m, v] for a, b, m, v in inside.itertuples(index=False)]})
    return found


def large_group_warnings(split: Split, path: Path) -> list[str]:
    """One line per group of more than half a fold: its members, the measures that linked them,
    and what to do if a link is wrong (``split`` and ``run`` both print these)."""
    lines = []
    for group in split.large_groups:
        members = group.members
        measures = sorted({link[2] for link in group.links})
        lines.append(f"warning: one group of {group.size} images (more than half a fold) must stay on one side: "
                     f"{', '.join(members[:8])}{' ...' if len(members) > 8 else ''}; linked by {', '.join(measures)}. "
                     f"Its members and links are under large_groups in {path}; if links are wrong, list them as "
                     "cannot-link pairs in a links file (split.links_file, --links-file)")
    return lines


def plan_split(manifest: Manifest, settings: SplitSettings) -> Split:
    """The split of ``manifest``: every case's role plus what made it."""
    settings.check()
    frame = manifest.frame
    links = read_user_links(settings.links_file, manifest)
    reviewed = reviewed_duplicates(manifest) if settings.reviewed_links else []
    leakage = leakage_groups(frame, duplicate_links(manifest, settings.duplicates), links.must_link,
                             links.cannot_link, reviewed)
    groups, duplicated = leakage.labels, leakage.duplicated
    tertiles = size_tertiles(frame)
    stratum = strata(frame, tertiles)
    lesion = frame["label"].to_numpy() != NORMAL
    if settings.official:
        is_test, folds = _official_roles(manifest, settings)
    elif settings.protocol == IMAGE_LEVEL:
        is_test, folds = checked_cut(lambda size, k: image_level_roles(manifest, size, k, settings.seed), lesion,
                                     settings.test_size, settings.folds,
                                     f"{manifest.path} ({counted(len(frame), 'image')})")
    else:
        dataset = (f"{manifest.path} ({counted(len(frame), 'image')} in {counted(len(np.unique(groups)), 'group')} "
                   "kept whole: patients and duplicates)")
        is_test, folds = checked_cut(_grouped_cut(groups, stratum, settings.seed), lesion, settings.test_size,
                                     settings.folds, dataset)
    cases = [
        {"case_id": cid, "set": TEST if t else CV, "fold": None if t else int(f), "group": int(g), "stratum": s,
         "duplicate": bool(d)}
        for cid, t, f, g, s, d in zip(frame["case_id"], is_test, folds, groups, stratum, duplicated)
    ]
    test_ids = frame.loc[is_test, "case_id"].tolist()
    test_pixels = frame.loc[is_test, "pixel_sha256"].tolist()
    n_folds = int(folds.max())
    half_fold = len(frame) * (1 - float(is_test.mean())) / n_folds / 2
    duplicate_rows = leakage.links[leakage.links["measure"] != PATIENT]
    return Split.model_validate({
        "format": SPLIT_FORMAT,
        "dataset": manifest.dataset,
        "manifest": {"file": manifest.path.name, "sha256": manifest.sha256},
        "settings": settings.recorded(links),
        "folds": n_folds,
        "size_tertiles": list(tertiles),
        "duplicate_images": int(duplicated.sum()),
        "duplicate_links": [[a, b, m, v] for a, b, m, v in duplicate_rows.itertuples(index=False)],
        "user_links": {MUST_LINK_VALUE: [list(p) for p in links.must_link],
                       CANNOT_LINK_VALUE: [list(p) for p in links.cannot_link]},
        "reviewed_links": [[a, b] for a, b, m, _ in leakage.links.itertuples(index=False) if m == REVIEWED],
        "large_groups": large_groups(leakage, frame, half_fold),
        "test_set_sha256": test_set_sha256(test_ids, test_pixels),
        "cases": sorted(cases, key=lambda c: c["case_id"]),
    })


def split_bytes(split: Split) -> bytes:
    """The canonical serialisation: the same split always gives the same bytes."""
    return (json.dumps(split.model_dump(), indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _what_differs(old: dict[str, Any], new: Split) -> str:
    """The first difference between a split file's JSON and a new split that a user can act on, in words."""
    old_sha, new_sha = str(old.get("manifest", {}).get("sha256", "?")), new.manifest.sha256
    if old_sha != new_sha:
        return f"the manifest changed since the split was made (sha256 {old_sha[:12]} then, {new_sha[:12]} now)"
    old_settings, new_settings = old.get("settings", {}), new.settings
    changed = sorted(k for k in set(old_settings) | set(new_settings) if old_settings.get(k) != new_settings.get(k))
    if changed:
        return "its settings differ: " + ", ".join(
            f"{k} {old_settings.get(k)!r} then, {new_settings.get(k)!r} now" for k in changed)
    return (f"it was made by another version of busbench's splitting (format {old.get('format')!r}, now "
            f"{new.format!r}) and assigns cases differently")


def write_split(split: Split, path: Path, force: bool = False, resplit: str = "busbench split DATA_FOLDER --force"
                ) -> str:
    """Write the split file; returns "created", "unchanged" or "replaced".

    An existing split with other content is the frozen test set of earlier results: replacing it
    needs ``force``, and the refusal says what changed and the command that replaces it (``resplit``).
    """
    data = split_bytes(split)
    path = Path(path)
    if path.exists():
        if path.read_bytes() == data:
            return "unchanged"
        if not force:
            try:
                old = json.loads(path.read_text())
            except json.JSONDecodeError:
                old = {}
            raise BusbenchError(
                f"{path}: this split is frozen, and a new one would differ: {_what_differs(old, split)}. "
                f"Restore the data it was made on, or replace it with `{resplit}`: results made on the old split "
                "are then refused by `run` and `report`"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    status = "replaced" if path.exists() else "created"
    write_bytes(data, path)
    return status


def read_split(path: Path, manifest: Manifest, resplit: str = "busbench split MANIFEST --force") -> Split:
    """Load a split file (``load_split``) and verify it still belongs to ``manifest`` and is intact;
    ``resplit`` is the command named in the error when the manifest changed."""
    path = Path(path)
    if not path.is_file():
        raise BusbenchError(f"{path}: no split file; create it with `busbench split {manifest.path}`")
    split = load_split(path)
    recorded = split.manifest.sha256
    if recorded != manifest.sha256:
        raise BusbenchError(
            f"{path}: the manifest changed since the split was made ({manifest.path} had sha256 {recorded[:12]}, "
            f"now {manifest.sha256[:12]}). Restore the manifest, or re-split with `{resplit}`; results made on "
            "the old split are then refused, folds included"
        )
    frame = manifest.frame.set_index("case_id")
    ids = [case.case_id for case in split.cases]
    if sorted(ids) != sorted(frame.index):
        raise BusbenchError(f"{path}: its cases differ from {manifest.path}'s; recreate the split")
    test_ids = split.held_out()
    if test_set_sha256(test_ids, frame.loc[test_ids, "pixel_sha256"].tolist()) != split.test_set_sha256:
        raise BusbenchError(f"{path}: the test set does not match its checksum; the file was edited. Restore it")
    _check_groups_whole(split, path, manifest.frame, resplit)
    return split


def _check_groups_whole(split: Split, path: Path, frame: pd.DataFrame, resplit: str) -> None:
    """Refuse a grouped split of busbench's splitter in which a patient (from the manifest) or a recorded duplicate
    link spans two parts: the test checksum covers only the test cases, so a hand-moved development image or a
    moved test image with its checksum recomputed would pass. The official partition and the image-level
    protocol separate groups by design; registries and pools are checked where they are made."""
    if split.protocol != GROUPED or split.settings.get("official") or split.registry is not None \
            or "pool" in split.settings:
        return
    where = {case.case_id: "the test set" if case.fold is None else f"fold {case.fold}" for case in split.cases}
    pairs = [(a, b, measure) for a, b, measure, _ in split.duplicate_links]  # reviewed and must-link pairs included
    pairs += [(a, b, measure) for a, b, measure, _ in patient_links(frame).itertuples(index=False)]
    for a, b, measure in pairs:
        unknown = [case for case in (a, b) if case not in where]
        if unknown:
            raise BusbenchError(f"{path}: its duplicate links name {unknown[0]}, which is not among its cases; the "
                                f"file was edited. Restore it, or recreate it with `{resplit}`")
        if where[a] != where[b]:
            raise BusbenchError(f"{path}: {a} and {b} are one leakage group ({measure}) but sit in {where[a]} and "
                                f"{where[b]}; the file was edited. Restore it, or recreate it with `{resplit}`")
