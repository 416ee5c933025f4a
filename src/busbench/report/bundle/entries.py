"""The entries of a leaderboard (bundle x cell), read and checked before anything is written.

* A damaged bundle, one of another format and two bundles of one run (the same cell identity) are
  each one line naming the file and the fix; all such lines are given at once.
* Entries must share one test set: the same registry test-set checksum (or, without a registry, the
  same test set by content) and the same case keys. Otherwise one line names the two entries and
  the cases that differ, since a leaderboard of two test sets would rank luck, not models.
* Where metric conventions differ (HD95 rule, empty-mask rule, scoring resolution, NSD tolerance), a
  warning line each: those figures are not comparable across the rows, but the rest are. So are test
  images whose pixels differ between labs (a resampled copy) and bundles of different busbench versions.
* Each bundle must hold together (``consistency``), and two labs' runs split from two different
  registry files of one name are refused.
* Each entry's notes are its bundle's and those its config and rows imply (``implied_notes``), with a
  warning where the bundle lacked one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.log import listed
from busbench.report.bundle.consistency import bundle_problems
from busbench.report.bundle.implied_notes import implied_notes
from busbench.report.bundle.record import CASE, Bundle, BundleCell, read_bundle, remake, short_key
from busbench.report.collect import settings_but_seed
from busbench.report.names import unique_titles

CONVENTIONS = {"hd95": "HD95 rule (eval.hd95)", "hd95_space": "HD95 space (eval.hd95_space)",
               "hd95_empty": "empty-mask rule of HD95 (eval.hd95_empty)", "empty_masks": "empty-mask rule",
               "scoring_resolution": "scoring resolution"}
# Metric conventions each bundle's resolved config holds (older bundles too)
CONFIG_CONVENTIONS = {("eval", "nsd_tolerance"): "NSD tolerance in px (eval.nsd_tolerance)"}
# Training settings a reader of the table must know differ: one lab's 64 px against another's 32 px
TRAINING = {("input", "size"): "input size in px (input.size)", ("train", "epochs"): "epoch limit (train.epochs)",
            ("train", "max_minutes"): "time budget in minutes (train.max_minutes)"}


@dataclass
class Entry:
    """One cell of one bundle: its per-image rows keyed by case (``case_id``: the bundle's key)."""

    source: Path
    bundle: Bundle
    cell: BundleCell
    frame: pd.DataFrame
    title: str = ""  # unique among the entries: the model's name, with its bundle where two share it
    source_name: str = ""  # the bundle file as messages name it: its name, with folders where two share it
    notes: tuple[str, ...] = ()  # the cell's, and those its config and rows imply that it lacks (``unstated``)
    unstated: tuple[str, ...] = ()  # the notes its config and rows imply that the bundle does not state
    unread: str | None = None  # why its config's notes could not be derived, if they could not

    @property
    def name(self) -> str:
        return f"{self.source_name or self.source.name}: {self.cell.title}"


def read_bundles(paths: list[Path]) -> list[Bundle]:
    """Every bundle, or one error listing each bad file (one line each)."""
    problems: list[str] = []
    bundles: list[Bundle] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            bundle = read_bundle(path)
        except BusbenchError as exc:
            problems.append(str(exc))
            continue
        inconsistent = bundle_problems(bundle)
        if inconsistent:
            problems.append(f"{path}: a bundle that does not hold together ({'; '.join(inconsistent[:3])}"
                            f"{f'; and {len(inconsistent) - 3} more' if len(inconsistent) > 3 else ''}): edited by "
                            f"hand? {remake(path)}")
            continue
        twice = next((seen[cell.identity] for cell in bundle.cells if cell.identity in seen), None)
        if twice is not None:
            problems.append(f"{path}: the same run as {twice} (run {bundle.run}, identity {bundle.identity[:12]}); "
                            "give each run's bundle once")
            continue
        seen.update({cell.identity: Path(path) for cell in bundle.cells})
        bundles.append(bundle)
    if problems:
        raise BusbenchError("\n".join(problems))
    return bundles


def _seed_model(cell: BundleCell) -> str | None:
    """The model key shared by the seed cells of one model (``unext-8c1f02aa-seed1``: ``unext-8c1f02aa``);
    None for a cell of one seed."""
    if not cell.config.get("train", {}).get("seeds"):
        return None
    return cell.model.removesuffix(f"-seed{cell.config['train']['seed']}")


def _merged_seeds(members: list[Entry]) -> Entry:
    """One entry of a model's seed cells in one bundle, as the report merges them (``collect.merge_seeds``):
    a ``seed`` column, the fold models numbered on across seeds."""
    first = members[0]
    for entry in members[1:]:
        if settings_but_seed(entry.cell.config) != settings_but_seed(first.cell.config):
            raise BusbenchError(f"{entry.source}: cells {first.cell.cell} and {entry.cell.cell} are seeds of one model "
                                "with other settings than their seed; bundle them from separate runs")
    frames, offset = [], 0
    for entry in members:
        frame = entry.frame.assign(seed=entry.cell.config["train"]["seed"])
        folds = frame["variant"] == FOLD_MODELS
        frame.loc[folds, "fold"] += offset
        offset += frame.loc[folds, "fold"].nunique()
        frames.append(frame)
    return Entry(first.source, first.bundle, first.cell, pd.concat(frames, ignore_index=True),
                 notes=_union(entry.notes for entry in members), unstated=_union(entry.unstated for entry in members),
                 unread=first.unread)


def _union(notes: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(note for each in notes for note in each))


def _entry(path: Path, bundle: Bundle, cell: BundleCell) -> Entry:
    """A cell as an entry, with the notes its config and rows imply added where its bundle lacks them."""
    frame = cell.frame()
    implied, unread = implied_notes(cell, frame)
    unstated = tuple(note for note in implied if note not in cell.notes)
    return Entry(path, bundle, cell, frame.rename(columns={CASE: "case_id"}), notes=cell.notes + unstated,
                 unstated=unstated, unread=unread)


def merge_seed_entries(entries: list[Entry]) -> list[Entry]:
    """Each model's seed cells of one bundle as one entry (in the place of its first seed); others unchanged."""
    families: dict[tuple[Path, str, str], list[Entry]] = {}
    for entry in entries:
        model = _seed_model(entry.cell)
        if model is not None:
            families.setdefault((entry.source, entry.cell.dataset, model), []).append(entry)
    merged: list[Entry] = []
    for entry in entries:
        model = _seed_model(entry.cell)
        family = families.get((entry.source, entry.cell.dataset, model)) if model is not None else None
        if family is None:
            merged.append(entry)
        elif family[0] is entry:
            merged.append(_merged_seeds(sorted(family, key=lambda e: int(e.cell.config["train"]["seed"]))))
    return merged


def _source_names(paths: list[Path]) -> dict[Path, str]:
    """Each bundle file by its name; by as many of its folders as tell apart two labs' files of one name
    (``lab1/out/results.json`` and ``lab2/out/results.json``)."""
    names = {}
    for path in paths:
        others = [other for other in paths if other != path and other.name == path.name]
        depth = 1
        while depth < len(path.parts) and any(other.parts[-depth:] == path.parts[-depth:] for other in others):
            depth += 1
        names[path] = "/".join(path.parts[-depth:])
    return names


def entries_of(paths: list[Path], bundles: list[Bundle]) -> list[Entry]:
    entries = merge_seed_entries([_entry(Path(path), bundle, cell) for path, bundle in zip(paths, bundles)
                                  for cell in bundle.cells])
    single = {e.source: sum(1 for other in entries if other.source == e.source) == 1 for e in entries}
    names = _source_names([Path(path) for path in paths])
    stems = {path: name.removesuffix(path.suffix) for path, name in names.items()}
    keys = {id(e): (stems[e.source] if single[e.source] else f"{stems[e.source]}/{_seed_model(e.cell) or e.cell.model}")
            for e in entries}
    titles = unique_titles({keys[id(e)]: e.cell.title for e in entries})
    for entry in entries:
        entry.title, entry.source_name = titles[keys[id(entry)]], names[entry.source]
    return entries


def check_test_sets(entries: list[Entry]) -> None:
    """Refuse entries scored on another test set than the first's, naming the cases that differ."""
    first = entries[0]
    expected = set(first.frame["case_id"])
    for entry in entries[1:]:
        mine, theirs = entry.cell.test_set, first.cell.test_set
        if mine.registry is not None and mine.registry == theirs.registry and \
                mine.registry_sha256 != theirs.registry_sha256:
            raise BusbenchError(
                f"{entry.name} and {first.name}: split from two different files named registry {mine.registry} "
                f"(sha256 {str(mine.registry_sha256)[:12]} vs {str(theirs.registry_sha256)[:12]}); their roles or "
                "masks may differ: rank runs split from one registry file (`busbench registry list` shows the shipped)")
        keys = set(entry.frame["case_id"])
        same_set = entry.cell.test_set.identity() == first.cell.test_set.identity()
        if same_set and keys == expected:
            continue
        differ = sorted(short_key(k) for k in keys ^ expected)
        cases = f"{len(differ)} cases differ ({listed(differ)})" if differ else "the same case keys"
        raise BusbenchError(
            f"{entry.name} and {first.name}: different test sets ({entry.cell.test_set.identity()} vs "
            f"{first.cell.test_set.identity()}; {cases}); a leaderboard ranks results on one test set: bundle runs "
            "of one split, or runs split from one registry (`busbench bundle RUN --registry NAME`)")


_ABSENT = object()  # a setting a bundle's config lacks (an older busbench): "not recorded", unlike None: "none"
NOT_COMPARABLE, OTHER_TRAINING = ("figures it affects are not comparable across these rows",
                                  "the rows compare trainings as well as models")


def _differing(entries: list[Entry], of_each: list[object]) -> str | None:
    """``value (entries); value (entries)`` where the entries' values (``of_each``) differ, else None."""
    values: dict[str, list[str]] = {}
    for entry, value in zip(entries, of_each):
        shown = "not recorded" if value is _ABSENT else "none" if value is None else \
            f"{value:g}" if isinstance(value, float) else str(value)
        values.setdefault(shown, []).append(entry.name)
    return "; ".join(f"{value} ({', '.join(names)})" for value, names in values.items()) if len(values) > 1 else None


def convention_warnings(entries: list[Entry]) -> list[str]:
    """One line per metric convention, and per training setting of ``TRAINING``, on which the entries differ."""
    compared = [(what, [getattr(entry.cell.conventions, field) for entry in entries], NOT_COMPARABLE)
                for field, what in CONVENTIONS.items()]
    compared += [(what, [entry.cell.config.get(section, {}).get(key, _ABSENT) for entry in entries], consequence)
                 for settings, consequence in ((CONFIG_CONVENTIONS, NOT_COMPARABLE), (TRAINING, OTHER_TRAINING))
                 for (section, key), what in settings.items()]
    return [f"the {what} differs: {shown}: {consequence}" for what, values, consequence in compared
            if (shown := _differing(entries, values))]


def copy_warnings(entries: list[Entry]) -> list[str]:
    """Where the labs' test images differ in pixels (a resampled or re-encoded copy of the registry's, whose
    masks were matched by outline only), and where different busbench versions wrote the bundles."""
    lines: list[str] = []
    first = entries[0]
    pixels = first.frame.drop_duplicates("case_id").set_index("case_id")["pixel_sha256"]
    for entry in entries[1:]:
        mine = entry.frame.drop_duplicates("case_id").set_index("case_id")["pixel_sha256"].reindex(pixels.index)
        differ = int((mine != pixels).sum())
        if differ:
            lines.append(f"{differ} of {len(pixels)} test images of {entry.name} differ in pixels from {first.name}'s "
                         "(another resolution or encoding, whose masks were matched by their outline only): those "
                         "images' scores are comparable only approximately")
    versions = _differing(entries, [entry.bundle.created_by.get("busbench") for entry in entries])
    return lines + ([f"different busbench versions wrote these bundles: {versions}"] if versions else [])


def note_warnings(entries: list[Entry]) -> list[str]:
    """Per entry: the notes its config and rows imply that its bundle did not state (the leaderboard states
    them), and a config whose notes could not be derived."""
    lines = [f"{entry.name}: its bundle does not state {'; '.join(repr(n) for n in entry.unstated)}, which its "
             "config and rows imply: the leaderboard states it (a bundle edited by hand, or made by an older busbench "
             "that did not state it?)"
             for entry in entries if entry.unstated]
    return lines + [f"{entry.name}: {entry.unread}, so its notes are shown as its bundle states them"
                    for entry in entries if entry.unread]
