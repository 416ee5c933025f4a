"""Experiment configuration: YAML, overrides, errors that name the key, grids, shipped files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from cli_runner import run_cli

from busbench.config import ExperimentConfig, apply_overrides, load_config
from busbench.errors import BusbenchError
from busbench.models import MODELS

REPOSITORY = Path(__file__).resolve().parents[2]
SHIPPED = REPOSITORY / "src" / "busbench" / "configs"


def test_yaml_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\ntrain: {epochs: 3, batch_size: 4}\nmodel: {name: unet, kwargs: {base_channels: 8}}\n")
    cfg = load_config(path, ["train.epochs=5", "optimizer.lr=0.01", "data.options.count=12", "train.patience=null"])
    assert cfg.train.epochs == 5 and cfg.train.batch_size == 4 and cfg.optimizer.lr == 0.01
    assert cfg.data.options == {"count": 12} and cfg.train.patience is None
    assert cfg.model.kwargs == {"base_channels": 8}
    assert ExperimentConfig.model_validate_json(cfg.model_dump_json()) == cfg


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.epoch=3"], "train.epoch: unknown key"),
        (["train.epochs=0"], "train.epochs: Input should be greater than or equal to 1"),
        (["optimizer.name=adam"], "optimizer.name: Input should be 'adamw' or 'sgd'"),
        (["model.name=unet9"], "model.name: unknown model 'unet9'"),
        (["model.name=unte"], "model.name: unknown model 'unte' (model.name); did you mean unet, unext"),
        (["eval.tta=[hflip, vflip, hflip]"], "eval.tta: hflip listed more than once; list each once"),
        (["input.channels=2"], "input.channels"),
        (["train.epochs"], "expected KEY=VALUE"),
        (["train.epochs.x=1"], "train.epochs: Input should be a valid integer"),
        (["name=../../escape"], "name: '../../escape' names a folder under output_dir"),
        (["model.label=.."], "model.label: '..' names a folder under output_dir"),
        (["data.dataset=../x"], "data.dataset: '../x' names a folder under output_dir"),
        (["name=a/b"], "name: 'a/b' names a folder"),
        (["loss.name=dcie"], "loss.name: loss.name 'dcie' is unknown; did you mean dice"),
        (["loss.name=iou"], "loss.name 'iou' is unknown; choose one of bce, dice, bce_dice, focal, tversky, lovasz"),
        (["train.augmentation=nnUnet"], "train.augmentation: train.augmentation 'nnUnet' is unknown; "
                                        "did you mean nnunet"),
    ],
)
def test_bad_settings_name_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(BusbenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(None, overrides)


def test_a_bad_key_is_one_line_naming_the_set_item_or_the_file_and_a_close_setting(tmp_path: Path) -> None:
    with pytest.raises(BusbenchError) as error:
        load_config(None, ["train.epochs=2", "train.epoch=3", "model.kwargs.base_channels=4"])
    assert str(error.value) == "--set train.epoch=3: train.epoch: unknown key; did you mean train.epochs?"
    path = tmp_path / "x.yaml"
    path.write_text("train: {epochs: 3, learning_rat: 0.1}\noptimiser: {lr: 0.1}\n")
    with pytest.raises(BusbenchError) as error:
        load_config(path, ["train.epochs=abc"])
    assert "\n" not in str(error.value)
    assert str(error.value).split("; ") == [
        "--set train.epochs=abc: train.epochs: Input should be a valid integer, unable to parse string as an integer "
        "(got 'abc')", f"{path}: train.learning_rat: unknown key", "`busbench config show` prints every setting",
        f"{path}: optimiser: unknown key", "did you mean optimizer?"]


@pytest.mark.parametrize("override", ["split.folds=2", "split.seed=7", "split.test_size=0.3", "split.official=true",
                                      "split.protocol=image_level", "split.near_duplicate_distance=4"])
def test_a_split_setting_a_registry_would_ignore_is_refused(override: str) -> None:
    with pytest.raises(BusbenchError) as error:
        load_config(None, ["split.registry=busi-v1", override])
    shown = override.replace("true", "True")  # as the setting's value prints
    assert str(error.value) == (
        f"--set split.registry=busi-v1, --set {override}: split: {shown} would be ignored: split.registry busi-v1 "
        "fixes the test set and the folds; leave them out, or set split.registry=null to split by them (your own "
        "test set, named in every table)")
    kept = load_config(None, ["split.registry=busi-v1", "split.folds=5", "split.registry_mismatch=true"])
    assert kept.split.folds == 5  # a default, as a run's saved config.yaml repeats it: not refused


def test_override_below_a_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("train: {epochs: 3}\n")
    with pytest.raises(BusbenchError, match="'epochs' is a value, not a section"):
        load_config(path, ["train.epochs.x=1"])


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(BusbenchError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(BusbenchError, match="list.yaml: the top level must be a mapping"):
        load_config(tmp_path / "list.yaml")
    (tmp_path / "bad.yaml").write_text("train: {epochs: [\n")
    with pytest.raises(BusbenchError, match="bad.yaml: not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_grid_expands_to_cells() -> None:
    cfg = load_config(SHIPPED / "grid.yaml")
    cells = cfg.cells()
    assert len(cells) == len(cfg.grid.datasets) * len(cfg.grid.models) == 6
    assert {(c.data.dataset, c.model.key()) for c in cells} == {
        (d.dataset, m.key()) for d in cfg.grid.datasets for m in cfg.grid.models
    }
    assert all(c.grid is None and c.train == cfg.train for c in cells)
    assert len({c.model.key() for c in cells}) == 2


def test_seeds_expand_every_cell_and_name_its_folder() -> None:
    """``train.seeds``: one cell per (dataset, model, seed), each training with its seed and named by it;
    a seed's cell is its own expansion (a job rebuilt from a cell's config.yaml finds the same cell)."""
    cfg = load_config(SHIPPED / "grid.yaml", ["train.seeds=[3, 7]"])
    cells = cfg.cells()
    assert len(cells) == 6 * 2
    assert [(c.cell_key(), c.train.seed) for c in cells[:2]] == [
        (f"{cfg.grid.models[0].key()}-seed3", 3), (f"{cfg.grid.models[0].key()}-seed7", 7)]
    assert all(c.cells() == [c] for c in cells)
    assert load_config(SHIPPED / "grid.yaml").cells()[0].cell_key() == cfg.grid.models[0].key()
    with pytest.raises(BusbenchError, match="train.seeds.*3 listed more than once"):
        load_config(SHIPPED / "grid.yaml", ["train.seeds=[3, 3]"])


@pytest.mark.parametrize("path", sorted([*SHIPPED.glob("*.yaml"), *(REPOSITORY / "benchmarks").glob("*.yaml")]),
                         ids=lambda p: p.stem)
def test_shipped_configs_validate(path: Path) -> None:
    """Each shipped config validates, and every value its file sets is the value the run gets (no
    key dropped, renamed or coerced on the way), with its dataset folder under $BUSBENCH_DATA."""
    cfg = load_config(path)
    resolved = cfg.model_dump(mode="json")
    written = yaml.safe_load(path.read_text())
    for key, value in _leaves(written):
        got = _lookup(resolved, key)
        if isinstance(value, str) and "${BUSBENCH_DATA}" in value:
            expected = Path(value.replace("${BUSBENCH_DATA}", os.environ["BUSBENCH_DATA"])).resolve()
            assert Path(got).resolve() == expected, key
        elif key.endswith((".root", ".prepared", "output_dir")):
            assert Path(got).name == Path(value).name, key
        else:
            assert got == value, f"{path.name}: {key} is {got!r} after validation, the file says {value!r}"
    for cell in cfg.cells():
        assert cell.model.name in MODELS or cell.model.name.startswith("monai."), cell.model.name


def _leaves(tree: object, prefix: str = "") -> list[tuple[str, object]]:
    """(dotted key, value) of every scalar or list a YAML mapping sets; grid entries are walked by index."""
    if isinstance(tree, dict):
        return [leaf for key, value in tree.items() for leaf in _leaves(value, f"{prefix}{key}.")]
    if isinstance(tree, list) and tree and all(isinstance(item, dict) for item in tree):
        return [leaf for i, item in enumerate(tree) for leaf in _leaves(item, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), tree)]


def _lookup(tree: object, key: str) -> object:
    for part in key.split("."):
        tree = tree[int(part)] if isinstance(tree, list) else tree[part]  # type: ignore[index]
    return tree


def test_overrides_do_not_touch_the_input() -> None:
    raw = {"train": {"epochs": 1}}
    assert apply_overrides(raw, ["train.epochs=2"]) == {"train": {"epochs": 2}}
    assert raw == {"train": {"epochs": 1}}


def test_model_label_names_the_run_folder() -> None:
    labelled = load_config(None, ["model.name=unet", "model.kwargs.base_channels=8", "model.label=unet_w8"])
    unlabelled = load_config(None, ["model.name=unet", "model.kwargs.base_channels=8"])
    assert labelled.model.key() == "unet_w8"
    assert unlabelled.model.key().startswith("unet-") and unlabelled.model.key() != "unet"
    with pytest.raises(BusbenchError, match="model.label"):
        load_config(None, ["model.label=../elsewhere"])


def test_a_malformed_set_value_is_one_line() -> None:
    with pytest.raises(BusbenchError, match=r"--set 'train.epochs=\[1,2': the value is not valid YAML") as error:
        load_config(None, ["train.epochs=[1,2"])
    assert "\n" not in str(error.value)


def test_input_size_is_bounded() -> None:
    with pytest.raises(BusbenchError, match=r"input.size: Input should be less than or equal to 4096"):
        load_config(None, ["input.size=100000"])


@pytest.mark.parametrize("written", ["off", "no", "false", "Off", "OFF", "'off'"])
def test_amp_off_as_yaml_reads_it(tmp_path: Path, written: str) -> None:
    """PyYAML reads an unquoted off/no/false as False, which editors using the schema accept as "off"."""
    path = tmp_path / "x.yaml"
    path.write_text(f"train:\n  amp: {written}\n")
    assert load_config(path).train.amp == "off"
    assert load_config(None, [f"train.amp={written}"]).train.amp == "off"
    assert load_config(path, ["train.amp=bf16"]).train.amp == "bf16"


def test_set_train_amp_off_on_the_command_line(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's command: `--set train.amp=off` failed with "got False"."""
    assert run_cli(monkeypatch, "config", "show", "demo", "--set", "train.amp=off") == 0
    assert "  amp: 'off'\n" in capsys.readouterr().out


def test_amp_on_is_no_precision() -> None:
    with pytest.raises(BusbenchError, match=r"train.amp: Input should be 'auto', 'off', 'bf16' or 'fp16' \(got True\)"):
        load_config(None, ["train.amp=on"])
