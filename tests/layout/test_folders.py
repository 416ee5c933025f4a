"""The folder objects: every artefact's path where the layout's documented tree puts it, the same
objects naming what a real run writes and what the report reads back."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from busbench.layout import folders
from busbench.layout.folders import CellFolder, FoldFolder, RunFolder, data_folder, data_folder_output_dir
from busbench.records import read_environment
from busbench.report.collect import collect_runs

OUT = Path("/out")
CELL = OUT / "exp" / "busi-1234" / "unet"

# Each property's path relative to its folder, as the tree in busbench.layout.folders' docstring draws it.
RUN_FILES = {"summary_csv": "summary.csv", "summary_md": "summary.md"}
CELL_FILES = {
    "config_yaml": "config.yaml", "environment_json": "environment.json", "postprocessing_json": "postprocessing.json",
    "postprocessing_trials_csv": "postprocessing_trials.csv", "ensemble_metrics_csv": "ensemble_metrics.csv",
    "ensemble_calibration_csv": "ensemble_calibration.csv", "cross_dataset_metrics_csv": "cross_dataset_metrics.csv",
    "cross_dataset_overlap_csv": "cross_dataset_overlap.csv", "per_image_metrics_csv": "per_image_metrics.csv",
    "fold_summary_csv": "fold_summary.csv", "summary_csv": "summary.csv", "summary_md": "summary.md",
    "score_json": "score.json", "test_metrics_csv": "test_metrics.csv", "masks": "masks",
}
FOLD_FILES = {
    "provenance_json": "provenance.json", "last_pt": "last.pt", "best_pt": "best.pt", "log_csv": "log.csv",
    "test_metrics_csv": "test_metrics.csv", "done_json": "done.json", "tensorboard": "tensorboard",
    "mlflow_run_json": "mlflow_run.json",
}


def _path_properties(cls: type) -> set[str]:
    """The properties of ``cls`` that name a file or folder inside it (annotated ``-> Path``)."""
    return {name for name, member in vars(cls).items()
            if isinstance(member, property) and member.fget is not None
            and inspect.signature(member.fget).return_annotation in (Path, "Path")
            and name not in {"path", "data_folder"}}


@pytest.mark.parametrize(("folder", "files"), [
    (RunFolder(OUT, "exp"), RUN_FILES), (CellFolder(CELL), CELL_FILES), (FoldFolder(CELL / "fold-3"), FOLD_FILES)])
def test_every_artefact_property_is_where_the_documented_tree_puts_it(folder: object, files: dict[str, str]) -> None:
    assert _path_properties(type(folder)) == set(files)  # a new artefact gets its row here
    base = folder.path  # type: ignore[attr-defined]
    for name, relative in files.items():
        assert getattr(folder, name) == base / relative, name
        assert relative in (folders.__doc__ or ""), f"{relative}: missing from the layout's tree"


def test_folders_climb_to_one_another_without_the_caller_counting_levels() -> None:
    run = RunFolder(OUT, "exp")
    cell = run.cell("busi-1234/unet")
    assert cell == CellFolder(CELL) == CellFolder(str(CELL)) and run.path == OUT / "exp"  # type: ignore[arg-type]
    assert (cell.dataset_key, cell.model_key, cell.id) == ("busi-1234", "unet", "busi-1234/unet")
    assert cell.run == run
    assert cell.data_folder == data_folder(OUT, "busi-1234") == OUT / "data" / "busi-1234"
    fold = cell.fold(12)
    assert fold.path == CELL / "fold-12" and fold.number == 12 and fold.cell == cell


def test_folds_sort_by_number_and_a_fold_is_done_by_its_done_json(tmp_path: Path) -> None:
    cell = CellFolder(tmp_path / "exp" / "d" / "m")
    assert cell.folds() == [] and not cell.folds_started()
    for k in (10, 2, 1):
        cell.fold(k).path.mkdir(parents=True)
    assert [f.number for f in cell.folds()] == [1, 2, 10]
    assert not cell.folds_started()  # empty fold folders: nothing begun yet
    cell.fold(2).provenance_json.write_text("{}")
    assert cell.folds_started() and not cell.fold(2).done
    cell.fold(2).done_json.write_text("{}")
    assert cell.fold(2).done


def test_a_data_folder_names_the_output_dir_holding_it(tmp_path: Path) -> None:
    assert data_folder_output_dir(data_folder(tmp_path, "busi-1234")) == tmp_path.resolve()
    assert data_folder_output_dir(tmp_path / "elsewhere" / "busi") is None


def test_a_real_run_writes_only_what_the_folders_name_and_the_report_reads_it_through_them(tiny_run: Path) -> None:
    cell = CellFolder(tiny_run)
    assert cell.run == RunFolder(tiny_run.parents[2], "p")
    assert cell.run.summary_csv.is_file() and cell.run.summary_md.is_file()
    # the cell's data folder is the one the run prepared: its manifest and the split environment.json names
    assert (cell.data_folder / "manifest.csv").is_file()
    assert (cell.data_folder / str(read_environment(cell.path).split_file)).is_file()
    named_cell = {getattr(cell, name) for name in CELL_FILES}
    folds = cell.folds()
    assert [f.number for f in folds] == [1, 2] and all(f.done for f in folds)
    named = named_cell | {f.path for f in folds} | {getattr(f, name) for f in folds for name in FOLD_FILES}
    written = {p for p in cell.path.rglob("*") if ".locks" not in p.parts}
    assert written <= named, sorted(map(str, written - named))
    assert {cell.ensemble_metrics_csv, cell.summary_csv, cell.postprocessing_json} <= written

    runs, skipped = collect_runs(cell.run.output_dir)
    assert skipped == [] and len(runs) == 1
    run = runs[0]
    assert run.folder == cell and (run.dataset, run.model) == (cell.dataset_key, cell.model_key)
    assert set(run.logs) == {f.number for f in folds}
    assert run.ensemble is not None and len(run.per_image) == sum(
        len(f.test_metrics_csv.read_text().splitlines()) - 1 for f in folds)
