"""The data a run folder was made on: its data folder and frozen split, as its ``environment.json`` records them,
for every step that reads a finished run (the report, bundles, ``predict``)."""

from __future__ import annotations

from pathlib import Path

from busbench.data.split.record import Split, load_split
from busbench.layout.folders import CellFolder
from busbench.records import read_environment


def run_data_folder(cell: CellFolder) -> Path:
    """The data folder a cell was run on: where its ``environment.json`` says (``data.prepared`` lies
    anywhere), else ``<output_dir>/data/<dataset key>`` (cells run before busbench recorded it)."""
    recorded = read_environment(cell.path).data_folder
    return Path(recorded) if recorded and Path(recorded).is_dir() else cell.data_folder


def run_split(cell: CellFolder) -> Split | None:
    """The split a run folder records, if its results folder still holds that split."""
    split_file = read_environment(cell.path).split_file
    split_path = run_data_folder(cell) / str(split_file)
    return load_split(split_path) if split_file and split_path.is_file() else None
