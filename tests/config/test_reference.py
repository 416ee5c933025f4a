"""`busbench config show` and `config schema`, and the docs' settings reference generated from the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cli_runner import run_cli
from pydantic import BaseModel

from busbench.config import ExperimentConfig, load_config
from busbench.config.reference import SCHEMA_FILE, generated_section, reference, schema_json, shipped_schema_path
from busbench.errors import BusbenchError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "src" / "busbench" / "configs"

EDITOR_LINE = f"# yaml-language-server: $schema={SCHEMA_FILE}"  # each shipped YAML's first line


def _sections(model: type[BaseModel], found: list[type[BaseModel]] | None = None) -> list[type[BaseModel]]:
    """The config's section models, each once."""
    found = [] if found is None else found
    found.append(model)
    for field in model.model_fields.values():
        for kind in (field.annotation, *getattr(field.annotation, "__args__", ())):
            for inner in (kind, *getattr(kind, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in found:
                    _sections(inner, found)
    return found


def test_every_key_has_a_description() -> None:
    missing = [f"{section.__name__}.{name}" for section in _sections(ExperimentConfig)
               for name, field in section.model_fields.items() if not field.description]
    assert missing == []


def test_config_show_prints_the_resolved_yaml(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "config", "show", "busi", "--set", "train.epochs=3") == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert ExperimentConfig.model_validate(shown) == load_config(SHIPPED / "busi.yaml", ["train.epochs=3"])
    assert shown["train"]["epochs"] == 3 and shown["eval"]["hd95"] == "pooled"  # a default filled in
    assert Path(shown["data"]["root"]).is_absolute() and "${" not in shown["data"]["root"]


def test_config_show_without_the_data_variable_shows_the_folder_as_written(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BUSBENCH_DATA", raising=False)
    assert run_cli(monkeypatch, "config", "show", "busi") == 0
    out, err = capsys.readouterr()
    assert yaml.safe_load(out)["data"]["root"] == "${BUSBENCH_DATA}/Dataset_BUSI_with_GT"
    assert "BUSBENCH_DATA is not set" in err and "export BUSBENCH_DATA=DIR" in err
    with pytest.raises(BusbenchError, match="needs the environment variable BUSBENCH_DATA"):  # running still refuses
        load_config(SHIPPED / "busi.yaml")


def test_config_schema_prints_the_json_schema_with_descriptions(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "config", "schema") == 0
    schema: dict[str, Any] = json.loads(capsys.readouterr().out)
    train = schema["$defs"]["TrainConfig"]["properties"]
    assert train["epochs"]["default"] == 100 and "early stopping" in train["epochs"]["description"]
    assert all("description" in spec for spec in schema["properties"].values())


def test_the_reference_has_a_row_per_key() -> None:
    rows = re.findall(r"^\| `([^`]+)` \|", reference(), flags=re.MULTILINE)
    headings = re.findall(r"^\| \*\*`([a-z_]+)`\*\* \| section", reference(), flags=re.MULTILINE)
    assert "train.epochs" in rows and "data.prepared" in rows and "grid.models" in rows
    assert headings == ["data", "split", "input", "model", "loss", "optimizer", "schedule", "train", "eval", "tracking",
                        "grid"]
    assert len(rows) + len(headings) == sum(len(section.model_fields) for section in _sections(ExperimentConfig))


def test_the_docs_settings_reference_is_the_generated_one() -> None:
    section = generated_section((REPO / "docs" / "configuration.md").read_text())
    assert section, "docs/configuration.md has no settings reference; run python -m busbench.config.reference --write"
    assert section == reference(), "docs/configuration.md's settings reference is stale: run the command above"


def test_the_docs_list_every_shipped_config() -> None:
    page = (REPO / "docs" / "running.md").read_text()
    line = next(line for line in page.splitlines() if line.startswith("busbench configs "))
    listed = set(re.split(r",\s*", line.split("shipped configs:")[1].strip()))
    assert listed == {p.stem for p in SHIPPED.glob("*.yaml")}


def test_the_shipped_schema_is_the_generated_one_and_every_shipped_config_names_it() -> None:
    shipped = shipped_schema_path()
    assert shipped.parent == SHIPPED and shipped.read_text() == schema_json() + "\n", (
        "src/busbench/configs/schema.json is stale: run python -m busbench.config.reference --write")
    for path in SHIPPED.glob("*.yaml"):
        assert path.read_text().splitlines()[0] == EDITOR_LINE, f"{path.name}: the first line must be {EDITOR_LINE}"


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.stem)
def test_an_editor_accepts_each_shipped_config_and_flags_a_typo(path: Path) -> None:
    """What an editor's YAML language server does with the schema line: a JSON-Schema validator (not
    busbench's own loader) accepts every shipped config and reports a misspelt key and a bad value."""
    validator = jsonschema.Draft202012Validator(json.loads(shipped_schema_path().read_text()))
    written = yaml.safe_load(path.read_text())
    assert list(validator.iter_errors(written)) == []
    typo = {**written, "train": {**written.get("train", {}), "epoch": 3}}
    assert any("epoch" in error.message for error in validator.iter_errors(typo))
    bad = {**written, "train": {**written.get("train", {}), "epochs": 0}}
    assert [error.json_path for error in validator.iter_errors(bad)] == ["$.train.epochs"]
