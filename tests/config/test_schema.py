"""The editor schema refuses what busbench refuses, where JSON Schema can say it, and accepts what it accepts.

Each config below is checked twice: by busbench's loader and by a JSON-Schema validator reading the shipped
``schema.json``, as an editor's YAML language server does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from busbench.config import load_config
from busbench.config.reference import DRAFT, SCHEMA_ID, shipped_schema_path
from busbench.errors import BusbenchError

A = {"dataset": "synthetic", "options": {"count": 20, "seed": 1}}
B = {"dataset": "synthetic", "options": {"count": 20, "seed": 2}}
C = {"dataset": "synthetic", "options": {"count": 20, "seed": 3}}

# (what is wrong, the config, what busbench's error says)
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("unknown top key", {"epochs": 3}, "epochs"),
    ("unknown key in a section", {"train": {"epoch": 3}}, "train.epoch"),
    ("unknown key in a data list item", {"data": [{**A, "rooot": "x"}, B]}, "rooot"),
    ("repeated seed", {"train": {"seeds": [1, 2, 1]}}, "1 listed more than once"),
    ("repeated TTA view", {"eval": {"tta": ["hflip", "hflip"]}}, "hflip listed more than once"),
    ("name that is a path", {"name": "../elsewhere"}, "names a folder under output_dir"),
    ("label with a slash", {"model": {"label": "unet/w8"}}, "names a folder under output_dir"),
    ("dataset that is a path", {"data": {"dataset": "../busi"}}, "names a folder under output_dir"),
    ("input side too small", {"input": {"size": 8}}, "input.size"),
    ("test share of 1", {"split": {"test_size": 1.0}}, "split.test_size"),
    ("one fold", {"split": {"folds": 1}}, "split.folds"),
    ("unregistered loss", {"loss": {"name": "focal_tversky_nope"}}, "loss.name"),
    ("unregistered augmentation preset", {"train": {"augmentation": "heavy_nope"}}, "train.augmentation"),
    ("unknown precision", {"train": {"amp": "fp8"}}, "train.amp"),
    ("negative workers", {"train": {"workers": -1}}, "train.workers"),
    ("zero learning rate", {"optimizer": {"lr": 0}}, "optimizer.lr"),
    ("threshold of 1", {"eval": {"threshold": 1.0}}, "eval.threshold"),
    ("a data list of one", {"data": [A]}, "pool two or more"),
    ("a pool of one", {"data": {"pool": [A]}}, "pool two or more"),
    ("a pool listing a dataset twice", {"data": [A, A]}, "lists a dataset twice"),
    ("a pool of pools", {"data": [{"pool": [A, B]}, C]}, "cannot itself be a pool"),
    ("a pool with a root", {"data": {"pool": [A, B], "root": "/data"}}, "belong to each pooled dataset"),
    ("a pool with options", {"data": {"pool": [A, B], "options": {"count": 3}}}, "belong to each pooled dataset"),
    ("leave one out of one dataset", {"grid": {"protocol": "leave_one_dataset_out", "datasets": [A]}},
     "needs two or more grid.datasets"),
    ("leave one out of no datasets", {"grid": {"protocol": "leave_one_dataset_out"}},
     "needs two or more grid.datasets"),
]

# Unusual spellings busbench accepts, which the schema must not flag
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("data as a list", {"data": [A, B]}),
    ("data as a pool", {"data": {"pool": [A, B]}}),
    ("YAML's false for amp", {"train": {"amp": False}}),
    ("workers by number", {"train": {"workers": 2}}),
    ("distinct seeds and views", {"train": {"seeds": [0, 1]}, "eval": {"tta": ["hflip", "vflip"]}}),
    ("a label", {"model": {"label": "unet_w8.v2+x"}}),
    ("leave one dataset out", {"grid": {"protocol": "leave_one_dataset_out", "datasets": [A, B]}}),
    ("a grid of data lists' items", {"grid": {"datasets": [A, B]}, "eval": {"cross_datasets": [C]}}),
    ("no early stopping", {"train": {"patience": None}}),
]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    document = json.loads(shipped_schema_path().read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def _load(config: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    load_config(path)


def test_the_schema_has_a_stable_id_and_names_its_draft() -> None:
    document = json.loads(shipped_schema_path().read_text())
    assert document["$id"] == SCHEMA_ID == "https://busbench.dev/schema/experiment-1.json"
    assert document["$schema"] == DRAFT == "https://json-schema.org/draft/2020-12/schema"


def test_every_section_refuses_unknown_keys(validator: jsonschema.Draft202012Validator) -> None:
    sections = validator.schema["$defs"]
    assert validator.schema["additionalProperties"] is False
    assert {name: spec.get("additionalProperties") for name, spec in sections.items()} == dict.fromkeys(sections, False)


@pytest.mark.parametrize(("wrong", "config", "message"), REFUSED, ids=[row[0] for row in REFUSED])
def test_what_busbench_refuses_the_schema_refuses(wrong: str, config: dict[str, Any], message: str, tmp_path: Path,
                                                  validator: jsonschema.Draft202012Validator) -> None:
    with pytest.raises(BusbenchError, match=message.replace(".", r"\.")):
        _load(config, tmp_path)
    assert list(validator.iter_errors(config)), f"the schema accepts {wrong}: {config}"


@pytest.mark.parametrize(("spelling", "config"), ACCEPTED, ids=[row[0] for row in ACCEPTED])
def test_what_busbench_accepts_the_schema_accepts(spelling: str, config: dict[str, Any], tmp_path: Path,
                                                  validator: jsonschema.Draft202012Validator) -> None:
    _load(config, tmp_path)
    assert [error.message for error in validator.iter_errors(config)] == []


# Refused when the dataset is prepared (its adapter built), by the schema as soon as it is typed:
# (the data section, what busbench's error says)
REFUSED_WHEN_PREPARED: list[tuple[dict[str, Any], str]] = [
    ({"dataset": "bussi"}, "dataset 'bussi' is unknown; did you mean busi"),
    ({"dataset": "synthetic", "options": {"cnt": 30}}, "cnt: Extra inputs are not permitted"),
    ({"options": {"count": 2}}, "count: Input should be greater than or equal to 4"),  # no dataset: synthetic
    ({"dataset": "busi", "options": {"count": 30}}, "count: Extra inputs are not permitted"),
    ({"dataset": "busi", "options": {"allow_mask_gaps": "sometimes"}}, "allow_mask_gaps: Input should be a valid"),
    ({"dataset": "busbra", "options": {"allow_mask_gaps": True}}, "allow_mask_gaps: Extra inputs"),
]


@pytest.mark.parametrize(("data", "message"), REFUSED_WHEN_PREPARED, ids=[row[1] for row in REFUSED_WHEN_PREPARED])
def test_a_dataset_or_option_its_adapter_refuses_the_schema_refuses(
        data: dict[str, Any], message: str, validator: jsonschema.Draft202012Validator) -> None:
    from busbench.data.adapters.base import build_adapter

    with pytest.raises(BusbenchError, match=message):
        build_adapter(data.get("dataset", "synthetic"), data.get("options"))
    assert list(validator.iter_errors({"data": data})), f"the schema accepts {data}"
    assert list(validator.iter_errors({"data": [data, B]})), f"the schema accepts {data} in a pool"


def test_each_adapters_own_options_are_accepted(validator: jsonschema.Draft202012Validator) -> None:
    for data in ({"dataset": "busi", "options": {"allow_mask_gaps": True}}, {"options": {"count": 30, "size": 64}},
                 {"dataset": "folder", "options": {"images_dir": "img", "mask_suffix": "_mask"}}):
        assert [error.message for error in validator.iter_errors({"data": data})] == []
