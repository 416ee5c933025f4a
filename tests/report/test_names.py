"""How tables name a user's own folder dataset: by ``-o name=``, wherever the run read it from."""

from __future__ import annotations

from pathlib import Path

import pytest
from layouts import cases, make_pairs

from busbench.config import DataConfig
from busbench.data.prepare import prepare_dataset
from busbench.report.names import dataset_title


@pytest.mark.parametrize(("options", "title"), [({"name": "clinic_a"}, "clinic_a"), ({}, "Folder")])
def test_a_prepared_folder_dataset_is_named_as_it_was_prepared(tmp_path: Path, options: dict[str, str],
                                                               title: str) -> None:
    make_pairs(tmp_path / "mine", cases(6, seed=3))
    prepare_dataset("folder", tmp_path / "mine", tmp_path / "work", options)
    assert dataset_title(DataConfig(dataset="folder", prepared=tmp_path / "work")) == title


def test_the_config_options_name_a_folder_dataset_read_from_its_root(tmp_path: Path) -> None:
    assert dataset_title(DataConfig(dataset="folder", root=tmp_path, options={"name": "clinic_b"})) == "clinic_b"
    assert dataset_title(DataConfig(dataset="busi", prepared=tmp_path)) == "BUSI"


def test_a_damaged_manifest_json_leaves_the_adapter_name(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    assert dataset_title(DataConfig(dataset="folder", prepared=tmp_path)) == "Folder"
