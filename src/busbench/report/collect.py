"""Gathering results: every (dataset, model) run folder under a results folder, from its files.

A run folder is one ``busbench run`` writes (``config.yaml`` beside ``fold-<k>/`` folders), or one
``busbench score`` writes for an outside method (``score.json`` beside ``test_metrics.csv``: one
prediction set, reported like an ensemble, without a std). Only finished runs (every fold's
``test_metrics.csv`` present) are reported; the others are listed as skipped with the reason.

Cells of one model trained with several seeds (``train.seeds``: folders ``<model key>-seed<N>``) are
merged into one run (``merge_seeds``): its ``per_image`` holds every seed's fold models, ``seed`` says
which, and ``fold`` numbers the fold models across seeds, so that every "mean ± std over fold models"
covers all of them, a per-image score averages the seeds, and the seed-to-seed spread is one grouping away.

Runs are compared only on the same test images: ``tables_by_test_set`` puts runs of one dataset
into one table only when their ``environment.json`` records the same ``test_set_sha256``, so
two split seeds of a dataset make two tables, never one table with mixed paired tests.

Every table read is checked to hold each test id once (``busbench.evaluate.table_checks``): against
the split file when the results folder still holds it (``OUTPUT_DIR/data/<dataset>/``), otherwise
against the first fold's ids, whose count ``done.json`` recorded when the fold finished. Where it
holds the run's data, the test images and masks are checked by content against the manifest, and
the tables against the manifest's checksum (``check_test_data``): a test mask edited after the run,
or data prepared again since, is refused instead of reported.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from busbench.config import ExperimentConfig
from busbench.data.manifest import MANIFEST_CSV, load_manifest
from busbench.data.provenance import frame_provenance
from busbench.data.run_data import run_data_folder, run_split
from busbench.data.split.record import Split, SplitRegistry
from busbench.errors import BusbenchError
from busbench.evaluate.protocol import folds_note, protocol_notes
from busbench.evaluate.table_checks import check_cross_table, check_test_ids, read_metrics_table
from busbench.layout.folders import (
    BEST,
    CONFIG_YAML,
    SCORE_JSON,
    CellFolder,
    FoldFolder,
)
from busbench.pipeline.pool import SEPARATOR as POOL_SEPARATOR
from busbench.records import read_done, read_environment
from busbench.report.names import dataset_title, model_title, unique_titles


@dataclass
class RunResults:
    """One (dataset, model) cell and its scores: trained by ``busbench run``, or an outside method's
    predictions scored by ``busbench score`` (no config)."""

    path: Path
    config: ExperimentConfig | None
    dataset: str
    model: str
    per_image: pd.DataFrame  # fold models: fold, case_id, label, metrics, empty_case
    ensemble: pd.DataFrame | None  # variant, case_id, ... (ensemble rows), if scored
    cross: pd.DataFrame | None  # scores on other datasets' test sets, if any
    test_set: str  # test_set_sha256 of environment.json, else a sha256 of the scored case ids
    test_set_source: str  # "environment.json" or "case ids" (environment.json lacks the checksum)
    logs: dict[int, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what every table says of the row (marked †)
    split_settings: dict[str, Any] = field(default_factory=dict)  # test_size, seed, official, ... (as JSON gives them)
    title: str = ""  # the model as tables and figures name it ("U-Net (width 8)"); unique within its table
    dataset_title: str = ""  # "BUS-BRA"
    registry: SplitRegistry | None = None  # the split registry the roles came from, where the split file says so
    seeds: list[int] = field(default_factory=list)  # the training seeds merged into this run (``merge_seeds``)
    seed_paths: list[Path] = field(default_factory=list)  # their cell folders, in the order of ``seeds``
    trained_on: str = ""  # the training data's title where it is not the test set's dataset: "BUSI + BUS-BRA"
    fold_names: dict[int, str] = field(default_factory=dict)  # merged seeds' fold models: "seed 1, fold 2"

    @property
    def training_title(self) -> str:
        return self.trained_on or self.dataset_title

    @property
    def folder(self) -> CellFolder:
        """The cell's folder, whose properties name its files (and its data folder)."""
        return CellFolder(self.path)


@dataclass
class RunTable:
    """Runs of one dataset scored on one test set: one table and its statistics."""

    key: str  # file name: the dataset, or ``<dataset>-<test set>`` when the dataset has several
    title: str  # e.g. "BUSI, seed 42, 20 % test split"; the key and test-set checksum are in the legend
    runs: list[RunResults]


def _rescore_fold(fold: FoldFolder) -> str:
    return (f"Delete it and run `busbench run` with the run's config again: fold {fold.number} is scored "
            f"again from its {BEST} without retraining")


def test_set_identity(cell: CellFolder, per_image: pd.DataFrame) -> tuple[str, str]:
    """The run's test set checksum and where it came from."""
    recorded = read_environment(cell.path).test_set_sha256
    if recorded:
        return recorded, "environment.json"
    ids = "\n".join(sorted(per_image["case_id"].unique()))
    return hashlib.sha256(ids.encode()).hexdigest(), "case ids"


def check_test_data(cell: CellFolder, split: Split | None, tables: Mapping[Path, pd.DataFrame], rerun: str) -> None:
    """Where the results folder still holds a run's data (its ``split``, from ``run_split``, and manifest): the
    test images and masks are, by content, those ``prepare`` read, and each table was scored on that manifest,
    not on an earlier preparation of the data."""
    data_dir = run_data_folder(cell)
    if split is None or not (data_dir / MANIFEST_CSV).is_file():
        return
    manifest = load_manifest(data_dir)
    manifest.verify_contents(split.held_out())
    for table_path, table in tables.items():
        recorded = frame_provenance(table, table_path)
        if recorded is not None and recorded["manifest_sha256"] != manifest.sha256:
            raise BusbenchError(f"{table_path}: scored on an earlier preparation of the data ({manifest.path} was "
                                f"prepared again since), so its scores are stale; {rerun}")


def _fold_test_ids(fold: FoldFolder, table: pd.DataFrame) -> list[str]:
    """Without the split file: a fold table's ids, if as many as its ``done.json`` recorded."""
    ids = table["case_id"].astype(str).tolist()
    fix = (f"delete it and run `busbench run` with the run's config again ({fold.path.name} is scored again from "
           f"{BEST})")
    recorded = read_done(fold.path, fix).test_images if fold.done else None
    if recorded is not None and len(set(ids)) != recorded:
        raise BusbenchError(f"{fold.test_metrics_csv}: {len(set(ids))} test ids where {fold.done_json} records "
                            f"{recorded}; the file was cut or edited. {_rescore_fold(fold)}")
    return ids


def load_run(path: Path) -> RunResults | str:
    """A finished run folder's results, or the reason it cannot be reported."""
    cell = CellFolder(path)
    config = ExperimentConfig.model_validate(yaml.safe_load(cell.config_yaml.read_text()))
    folds = cell.folds()
    missing = [f.path.name for f in folds if not f.test_metrics_csv.is_file()]
    if not folds or missing:
        return f"{path}: unfinished ({', '.join(missing) or 'no folds'} not scored yet)"
    tables = {f: read_metrics_table(f.test_metrics_csv, _rescore_fold(f)) for f in folds}
    ensemble_path = cell.ensemble_metrics_csv
    rescore_ensemble = "Delete it and run `busbench run` with the run's config again to score the ensemble again"
    ensemble = read_metrics_table(ensemble_path, rescore_ensemble) if ensemble_path.is_file() else None
    split = run_split(cell)
    check_test_data(cell, split, {**{f.test_metrics_csv: t for f, t in tables.items()},
                                  **({ensemble_path: ensemble} if ensemble is not None else {})},
                    "run `busbench run` with the run's config again: it names the results to delete")
    test_ids = split.held_out() if split is not None else _fold_test_ids(folds[0], tables[folds[0]])
    for fold, table in tables.items():
        check_test_ids(table, fold.test_metrics_csv, test_ids, _rescore_fold(fold))
    per_image = pd.concat(tables.values(), ignore_index=True)
    if ensemble is not None:
        check_test_ids(ensemble, ensemble_path, test_ids, rescore_ensemble, by=["variant"])
    rescore_cross = "Delete it and run `busbench run` with the run's config again to score the other datasets again"
    cross_path = cell.cross_dataset_metrics_csv
    cross = read_metrics_table(cross_path, rescore_cross) if cross_path.is_file() else None
    if cross is not None:
        check_cross_table(cross, cross_path, cell.cross_dataset_overlap_csv, rescore_cross)
    logs = {f.number: pd.read_csv(f.log_csv) for f in folds if f.log_csv.is_file()}
    notes = protocol_notes(config.split, config.model, config.eval, config.input)
    if split is not None and len(folds) < split.folds:  # `--fold`, or a time budget (benchmarks/gpu_table.sh)
        notes.append(folds_note(len(folds), split.folds))
    # the folder names are the dataset and model keys `busbench run` gave them
    return RunResults(cell.path, config, cell.dataset_key, cell.model_key, per_image, ensemble, cross,
                      *test_set_identity(cell, per_image), logs, notes, config.split.model_dump(),
                      model_title(config.model), dataset_title(config.data),
                      split.registry if split is not None else None)


def load_scored_run(path: Path) -> RunResults:
    """An outside method's run folder (``busbench score``): its one prediction set as fold 0."""
    cell = CellFolder(path)
    record = json.loads(cell.score_json.read_text())
    rescore = "Score the predictions again with `busbench score`"
    per_image = read_metrics_table(cell.test_metrics_csv, rescore)
    split = run_split(cell)
    check_test_data(cell, split, {cell.test_metrics_csv: per_image}, rescore[0].lower() + rescore[1:])
    test_ids = split.held_out() if split is not None else per_image["case_id"].astype(str).unique().tolist()
    check_test_ids(per_image, cell.test_metrics_csv, test_ids, rescore)
    return RunResults(cell.path, None, cell.dataset_key, cell.model_key, per_image, None, None,
                      *test_set_identity(cell, per_image), notes=list(record["notes"]),
                      split_settings=dict(record["split_settings"]), title=cell.model_key,
                      dataset_title=cell.dataset_key, registry=split.registry if split is not None else None)


def collect_runs(results_dir: Path) -> tuple[list[RunResults], list[str]]:
    """Every finished run under ``results_dir`` and the reasons others were skipped."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise BusbenchError(f"{results_dir}: no such folder; give the output_dir of `busbench run`")
    runs: list[RunResults] = []
    skipped: list[str] = []
    for config in sorted(results_dir.rglob(CONFIG_YAML)):
        loaded = load_run(config.parent)
        if isinstance(loaded, str):
            skipped.append(loaded)
        else:
            runs.append(loaded)
    runs = [view for run in merge_seeds(runs) for view in pooled_views(run)]
    runs += [load_scored_run(record.parent) for record in sorted(results_dir.rglob(SCORE_JSON))]
    if not runs:
        raise BusbenchError(f"{results_dir}: no finished busbench runs found; run `busbench run CONFIG` first"
                            + (f" ({len(skipped)} unfinished)" if skipped else ""))
    return runs, skipped


def _member_rows(frame: pd.DataFrame, member: str) -> pd.DataFrame:
    prefix = member + POOL_SEPARATOR
    rows = frame[frame["case_id"].astype(str).str.startswith(prefix)].copy()
    rows["case_id"] = rows["case_id"].astype(str).str.slice(len(prefix))
    return rows


def own_rows(run: RunResults, frame: pd.DataFrame) -> pd.DataFrame:
    """A cell file's rows (``case_id``) of the run's test set: for a pooled run's view (``pooled_views``)
    those of its dataset, under that dataset's own ids; for any other run all of them."""
    return _member_rows(frame, run.dataset) if run.trained_on else frame


def pooled_views(run: RunResults) -> list[RunResults]:
    """A pooled run as one run per pooled dataset, scored on that dataset's own test set (its ids and
    checksum), so that it sits in that dataset's table beside the runs trained on it alone; the other
    runs as they are. The cross-dataset scores stay with the first view."""
    split = run_split(run.folder) if run.config is not None and run.config.data.pool else None
    if split is None or run.config is None:
        return [run]
    titles = {member.key(): dataset_title(member) for member in run.config.data.pool}
    views: list[RunResults] = []
    for entry in split.settings["pool"]:
        key = str(entry["key"])
        views.append(replace(run, dataset=key, model=f"{run.model}@{run.dataset}", title=f"{run.title}, trained on "
                             f"{run.dataset_title}", dataset_title=titles[key], trained_on=run.dataset_title,
                             per_image=_member_rows(run.per_image, key),
                             ensemble=None if run.ensemble is None else _member_rows(run.ensemble, key),
                             cross=run.cross if not views else None, test_set=str(entry["test_set_sha256"]),
                             notes=[*run.notes, pool_note(split, titles)]))
    return views


def pool_note(split: Split, titles: dict[str, str]) -> str:
    """What pooling left out of training, for every table of the pooled run (``titles``: dataset key -> name)."""
    dropped = sum(len(entry["dropped"]) for entry in split.settings["pool"])
    pooled = ", ".join(titles[str(e["key"])] for e in split.settings["pool"])
    return (f"trained on the pool of {pooled}: {dropped} "
            "development image(s) dropped as duplicates of another pooled dataset's test images")


def _seed_family(run: RunResults) -> tuple[str, str, str] | None:
    """(dataset key, model key, test set) shared by the seed cells of one model; None for a single-seed cell."""
    if run.config is None or not run.config.train.seeds:
        return None
    return run.dataset, run.config.model.key(), run.test_set


RUNTIME_SETTINGS = ("seed", "seeds", "device", "workers", "threads")  # train.*: may differ between seed cells


def settings_but_seed(config: dict[str, Any]) -> dict[str, Any]:
    """A dumped config without what may differ between the seed cells of one model (the seed, where it ran and
    the output folder), for checking that they differ in nothing else; the report's and the leaderboard's."""
    train = {k: v for k, v in config["train"].items() if k not in RUNTIME_SETTINGS}
    return {**{k: v for k, v in config.items() if k != "output_dir"}, "train": train}


def _merged(members: list[RunResults]) -> RunResults:
    """One run of the seed cells ``members`` (sorted by seed): fold models renumbered across seeds."""
    first = members[0]
    assert first.config is not None
    for run in members[1:]:
        assert run.config is not None
        if settings_but_seed(run.config.model_dump(mode="json")) != settings_but_seed(
                first.config.model_dump(mode="json")):
            raise BusbenchError(f"{first.path} and {run.path}: seed cells of model {first.config.model.key()!r} with "
                                "other settings than their seed; report them from separate results folders")
    per_image, ensembles, cross, logs, names = [], [], [], {}, {}
    offset = 0  # the highest fold number of the seeds before this one
    for run in members:
        assert run.config is not None
        seed = run.config.train.seed
        per_image.append(run.per_image.assign(seed=seed, fold=run.per_image["fold"] + offset))
        if run.ensemble is not None:
            ensembles.append(run.ensemble.assign(seed=seed))
        if run.cross is not None:
            cross.append(run.cross.assign(seed=seed, fold=run.cross["fold"] + offset))
        logs.update({fold + offset: log for fold, log in run.logs.items()})
        names.update({int(fold) + offset: f"seed {seed}, fold {fold}" for fold in run.per_image["fold"].unique()})
        offset += int(run.per_image["fold"].max())  # not the count: a seed's folds may have gaps (1 and 3)
    complete = len(ensembles) == len(members)
    return RunResults(first.path, first.config, first.dataset, first.config.model.key(),
                      pd.concat(per_image, ignore_index=True), pd.concat(ensembles, ignore_index=True) if complete
                      else None, pd.concat(cross, ignore_index=True) if len(cross) == len(members) else None,
                      first.test_set, first.test_set_source, logs, first.notes, first.split_settings, first.title,
                      first.dataset_title, first.registry, [int(r.config.train.seed) for r in members if r.config],
                      [r.path for r in members], fold_names=names)


def merge_seeds(runs: list[RunResults]) -> list[RunResults]:
    """Each model's seed cells as one run (in the place of its first seed); other runs unchanged."""
    families: dict[tuple[str, str, str], list[RunResults]] = {}
    for run in runs:
        family = _seed_family(run)
        if family is not None:
            families.setdefault(family, []).append(run)
    merged, done = [], set()
    for run in runs:
        family = _seed_family(run)
        if family is None:
            merged.append(run)
        elif family not in done:
            done.add(family)
            merged.append(_merged(sorted(families[family], key=lambda r: r.config.train.seed if r.config else 0)))
    return merged


def split_description(run: RunResults) -> str:
    """How the test set was chosen, in a few words: every table's title says it."""
    if run.registry is not None:
        return registry_description(run.registry)
    split = run.split_settings
    if split["official"]:
        return f"official test fold {split['official_test_fold']}"
    leaky = ", image-level split (leaky)" if split.get("protocol") == "image_level" else ""
    return f"split seed {split['seed']}, {float(split['test_size']) * 100:g} % test{leaky}"


def registry_description(registry: SplitRegistry) -> str:
    """``registry busi-v1 (test set e293b193)``, and how the copy differed from it, if it did."""
    text = f"registry {registry.name} (test set {registry.test_set_sha256[:8]})"
    if registry.extra_cases:
        text += f", {len(registry.extra_cases)} cases outside it (development only)"
    if registry.missing_cases:
        text += f", {len(registry.missing_cases)} of its cases missing"
    return text


def tables_by_test_set(runs: list[RunResults]) -> list[RunTable]:
    """One table per (dataset, test set); two runs of one model name in one table are an error."""
    grouped: dict[tuple[str, str], list[RunResults]] = {}
    for run in runs:
        grouped.setdefault((run.dataset, run.test_set), []).append(run)
    per_dataset = pd.Series([dataset for dataset, _ in grouped]).value_counts()
    dataset_titles = unique_titles({runs[0].dataset: runs[0].dataset_title for runs in grouped.values()})
    tables = []
    for (dataset, test_set), members in sorted(grouped.items()):
        seen: dict[str, Path] = {}
        for run in members:
            if run.model in seen:
                moved, experiment = shlex.quote(str(run.path)), shlex.quote(str(run.folder.run.path))
                raise BusbenchError(f"{seen[run.model]} and {run.path}: two runs of model {run.model!r} on one test "
                                    f"set of {dataset}; to compare them in one table, rename one's folder (`mv "
                                    f"{moved} {moved}-2`: its rows are then titled by that name), or report each "
                                    f"experiment alone (`busbench report {experiment} --out DIR`)")
            seen[run.model] = run.path
        for run, title in zip(members, unique_titles({run.model: run.title for run in members}).values()):
            run.title, run.dataset_title = title, dataset_titles[dataset]
        key = f"{dataset}-{test_set[:8]}" if per_dataset[dataset] > 1 else dataset
        tables.append(RunTable(key, f"{dataset_titles[dataset]}, {split_description(members[0])}", members))
    titles = [table.title for table in tables]
    for table in tables:  # two test sets of one split description (other manifests): numbered, checksums in the legend
        alike = [t.key for t, title in zip(tables, titles) if title == table.title]
        table.title += f" (test set {alike.index(table.key) + 1})" if len(alike) > 1 else ""
    return tables
