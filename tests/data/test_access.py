"""Training and validation data can never include the held-out test set."""

from __future__ import annotations

from pathlib import Path

import pytest

from busbench.data.access import DevelopmentSplit, development_split
from busbench.data.cache import build_cache
from busbench.data.manifest import Manifest
from busbench.data.split.split_file import SplitSettings, plan_split, read_split, write_split
from busbench.data.torch_dataset import fold_datasets
from busbench.errors import BusbenchError


@pytest.fixture()
def split_path(synthetic_manifest: Manifest, tmp_path: Path) -> Path:
    path = tmp_path / "split.json"
    write_split(plan_split(synthetic_manifest, SplitSettings(folds=3)), path)
    return path


def test_fold_datasets_never_serve_test_cases(synthetic_manifest: Manifest, split_path: Path, tmp_path: Path) -> None:
    development = development_split(split_path, synthetic_manifest)
    test = set(read_split(split_path, synthetic_manifest).held_out())
    cache = build_cache(synthetic_manifest, 32, cache_root=tmp_path / "cache")
    assert test and len(test) + len(development.case_ids()) == len(synthetic_manifest.frame)
    seen_val: list[str] = []
    for fold in range(1, development.folds + 1):
        train, val = fold_datasets(development, cache, fold)
        train_ids = {train[i]["case_id"] for i in range(len(train))}
        val_ids = {val[i]["case_id"] for i in range(len(val))}
        assert not (train_ids | val_ids) & test
        assert not train_ids & val_ids
        seen_val.extend(val_ids)
    assert sorted(seen_val) == development.case_ids()  # each development case validated once


def test_development_split_holds_no_test_case(synthetic_manifest: Manifest, split_path: Path) -> None:
    development = development_split(split_path, synthetic_manifest)
    test = set(read_split(split_path, synthetic_manifest).held_out())
    assert not set(development.fold_of) & test
    with pytest.raises(TypeError):
        development.fold_of["x"] = 1  # type: ignore[index]
    with pytest.raises(BusbenchError, match="fold 4 does not exist"):
        development.train_ids(4)


def test_fold_datasets_refuse_anything_but_a_development_split(synthetic_manifest: Manifest, split_path: Path,
                                                              tmp_path: Path) -> None:
    cache = build_cache(synthetic_manifest, 32, cache_root=tmp_path / "cache")
    with pytest.raises(TypeError, match="DevelopmentSplit"):
        fold_datasets(split_path, cache, 1)  # type: ignore[arg-type]
    assert isinstance(development_split(split_path, synthetic_manifest), DevelopmentSplit)
