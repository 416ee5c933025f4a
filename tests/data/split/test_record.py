"""The split file as a type: its accessors on a hand-built split, and one line naming the file for
any split file that is damaged or edited beyond reading."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hand_split import hand_split, split_document

from busbench.data.manifest import Manifest
from busbench.data.split.record import load_split
from busbench.data.split.split_file import SplitSettings, plan_split, split_bytes, write_split
from busbench.errors import BusbenchError

ROWS = [("t1", "test", None, 0), ("a", "cv", 1, 1), ("b", "cv", 2, 2), ("t2", "test", None, 1),
        ("c", "cv", 1, 3), ("d", "cv", 3, 2)]


def test_the_accessors_return_the_case_ids_of_each_role() -> None:
    split = hand_split(ROWS, folds=3)
    assert split.held_out() == ["t1", "t2"]
    assert split.development() == {"a": 1, "b": 2, "c": 1, "d": 3}
    assert (split.fold(1), split.fold(2), split.fold(3)) == (["a", "c"], ["b"], ["d"])
    assert split.groups == {"t1": 0, "a": 1, "b": 2, "t2": 1, "c": 3, "d": 2}
    assert split.test_set_sha256 == "1" * 64 and split.folds == 3 and split.protocol == "grouped"
    frame = split.cases_frame()
    assert frame["case_id"].tolist() == [row[0] for row in ROWS] and frame["fold"].isna().sum() == 2
    with pytest.raises(BusbenchError, match=r"fold 4 does not exist in this split of hand: its folds are 1\.\.3"):
        split.fold(4)


def test_a_planned_split_reads_back_to_the_same_bytes(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    planned = plan_split(synthetic_manifest, SplitSettings(folds=3))
    write_split(planned, path)
    read = load_split(path)
    assert read == planned and split_bytes(read) == path.read_bytes()
    assert sorted(read.held_out() + list(read.development())) == sorted(synthetic_manifest.frame["case_id"])


def test_a_split_made_before_reviewed_links_were_recorded_still_reads(tmp_path: Path) -> None:
    document = split_document(ROWS, folds=3)
    del document["reviewed_links"]
    path = tmp_path / "split.json"
    path.write_text(json.dumps(document))
    assert load_split(path).reviewed_links == ()


def _set(key: str, value: object) -> Callable[[dict], None]:
    return lambda document: document.__setitem__(key, value)


def _case(field: str, value: object, index: int = 1) -> Callable[[dict], None]:
    return lambda document: document["cases"][index].__setitem__(field, value)


@pytest.mark.parametrize(("edit", "said"), [
    (_set("format", "busbench-split/1"), "format 'busbench-split/1' is not 'busbench-split/2'"),
    (lambda document: document.pop("cases"), "not a valid split file (cases: Field required)"),
    (lambda document: document.pop("test_set_sha256"), "(test_set_sha256: Field required)"),
    (_set("folds", "three"), "(folds: Input should be a valid integer"),
    (lambda document: document.update(folds=0, cases=document["cases"][:1]), "folds is 0; a split has at least one"),
    (_case("fold", None), "(cases.1: Value error, case a: a cv case must have a fold)"),
    (_case("fold", 2, index=0), "(cases.0: Value error, case t1: a test case must have no fold)"),
    (_case("set", "train"), "(cases.1.set: Input should be 'test' or 'cv'"),
    (_case("fold", 4), "folds [4] used by cases, but the split has folds 1..3"),
    (_case("case_id", "t1"), "case ids listed twice: ['t1']"),
    (_case("group", "patient 7"), "(cases.1.group: Input should be a valid integer"),
])
def test_a_damaged_or_edited_split_file_is_one_line_naming_it(tmp_path: Path, edit: Callable[[dict], None],
                                                              said: str) -> None:
    document = split_document(ROWS, folds=3)
    edit(document)
    path = tmp_path / "split-edited.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BusbenchError) as error:
        load_split(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and said in message and "\n" not in message
    assert "restore it from a copy, or recreate it with `busbench split`" in message


@pytest.mark.parametrize(("content", "said"), [
    ('{"format": "busbench-split/2", "cases": [', "not a valid split file (Expecting value"),
    ("[1, 2]", "format None is not 'busbench-split/2'"),
])
def test_a_file_that_is_no_split_at_all_is_named(tmp_path: Path, content: str, said: str) -> None:
    path = tmp_path / "split.json"
    path.write_text(content)
    with pytest.raises(BusbenchError, match=f"^{path}: ") as error:
        load_split(path)
    assert said in str(error.value)


def test_a_missing_split_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BusbenchError, match=f"^{tmp_path / 'none.json'}: no split file; create it with `busbench"):
        load_split(tmp_path / "none.json")
