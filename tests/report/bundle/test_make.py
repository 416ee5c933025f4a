"""`busbench bundle`: a run folder's per-image results in one file, every case keyed by content or
by registry id, refused where its test set is not the registry's."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from bundle_files import BundleRuns, raw, reseal, rows
from cli_runner import run_cli

from busbench.config import ExperimentConfig
from busbench.data.manifest import FINGERPRINTS, load_manifest
from busbench.data.registry.record import load_registry
from busbench.data.split.record import load_split
from busbench.errors import BusbenchError
from busbench.layout.folders import SCORE_JSON
from busbench.report.bundle.case_keys import case_keys
from busbench.report.bundle.make import make_bundle
from busbench.report.bundle.record import BUNDLE_FORMAT, read_bundle


def _cell(run: Path) -> Path:
    return next(run.glob("*/*/config.yaml")).parent


def _manifest(runs: BundleRuns) -> pd.DataFrame:
    return pd.read_csv(next((runs.output_dir / "data").glob("*/manifest.csv")), dtype=str)


def test_a_bundle_holds_every_row_type_of_a_cell_keyed_by_content(
        bundle_runs: BundleRuns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "a.json"
    assert run_cli(monkeypatch, "bundle", str(bundle_runs.run("a")), "--out", str(out)) == 0
    bundle, cell_dir = raw(out), _cell(bundle_runs.run("a"))
    assert bundle["format"] == BUNDLE_FORMAT and bundle["run"] == "a" and len(bundle["cells"]) == 1
    cell = bundle["cells"][0]
    assert cell["title"] == "U-Net (width 4)" and cell["dataset_title"] == "Synthetic"
    config = ExperimentConfig.model_validate(yaml.safe_load((cell_dir / "config.yaml").read_text()))
    assert cell["config"] == config.model_dump(mode="json")
    assert cell["environment"] == json.loads((cell_dir / "environment.json").read_text())
    assert cell["cost"]["params_m"] > 0 and cell["cost"]["gflops"] > 0
    conventions = cell["conventions"]
    assert (conventions["hd95"], conventions["hd95_empty"], conventions["tta"]) == ("pooled", "diagonal", ["hflip"])
    assert "original size (median 40 x 32 px)" in conventions["scoring_resolution"]
    table = rows(cell)
    pixels = _manifest(bundle_runs).set_index("case_id")["pixel_sha256"]
    fold1 = pd.read_csv(cell_dir / "fold-1" / "test_metrics.csv", dtype={"case_id": str})
    ensemble = pd.read_csv(cell_dir / "ensemble_metrics.csv", dtype={"case_id": str})
    assert cell["test_set"]["keys"] == "content" and cell["test_set"]["cases"] == len(fold1)
    assert sorted(table["variant"].unique()) == ["ensemble", "ensemble + post-processing", "fold models"]
    assert len(table) == 2 * len(fold1) + len(ensemble)
    assert (table["case"] == table["pixel_sha256"]).all()  # without a registry, a case is its pixels
    mine = table[(table["variant"] == "fold models") & (table["fold"] == 1)].set_index("pixel_sha256")
    expected = fold1.assign(pixel_sha256=fold1["case_id"].map(pixels)).set_index("pixel_sha256")
    for metric in ("dice", "iou", "hd95", "precision", "recall", "specificity", "accuracy"):
        assert mine[metric].to_dict() == pytest.approx(expected[metric].to_dict())
    assert set(table["group"]) <= set(fold1["group"])
    again = make_bundle(bundle_runs.run("a"))
    assert again.identity == bundle["identity"]  # one run, one identity, whenever it is bundled


def test_a_split_made_from_a_registry_keys_cases_by_registry_id(bundle_runs: BundleRuns) -> None:
    cell = make_bundle(bundle_runs.run("r")).cells[0]
    registry, _, sha256 = load_registry(bundle_runs.registry)
    test = registry.frame().query("part == 'test'")
    assert cell.test_set.keys == "registry" and cell.test_set.registry == "tiny-v1"
    assert cell.test_set.registry_sha256 == sha256
    assert cell.test_set.registry_test_set_sha256 == registry.test_set_sha256
    frame = cell.frame()
    assert set(frame["case"]) == set(test["case_id"])
    assert dict(zip(frame["case"], frame["pixel_sha256"])) == dict(zip(test["case_id"], test["pixel_sha256"]))


def test_registry_option_keys_a_run_split_before_registries_when_its_test_set_is_the_registrys(
        bundle_runs: BundleRuns) -> None:
    plain, matched = make_bundle(bundle_runs.run("a")), make_bundle(bundle_runs.run("a"), str(bundle_runs.registry))
    registry = load_registry(bundle_runs.registry)[0]
    held_out = matched.cells[0].test_set
    assert held_out.keys == "registry" and held_out.registry_test_set_sha256 == registry.test_set_sha256
    assert held_out.matched == "by content when bundled: identical pixels"
    assert set(matched.cells[0].frame()["case"]) == set(registry.frame().query("part == 'test'")["case_id"])
    assert matched.identity == plain.identity  # the same run, whichever keys name its cases


def test_registry_option_refuses_a_run_on_another_test_set_saying_how_many_cases_differ(
        bundle_runs: BundleRuns) -> None:
    with pytest.raises(BusbenchError) as refused:
        make_bundle(bundle_runs.run("c"), str(bundle_runs.registry))
    message = str(refused.value)
    assert "its test set is not registry tiny-v1's (matched by identical pixels and thumbnails)" in message
    assert " test cases are not registry test cases (syn_" in message and "Bundle it without --registry" in message


def test_registry_option_refuses_another_registry_than_the_splits(bundle_runs: BundleRuns, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_bytes(bundle_runs.registry.read_bytes().replace(b'"tiny-v1"', b'"tiny-v2"'))
    with pytest.raises(BusbenchError, match="its split was made from registry tiny-v1, not from --registry"):
        make_bundle(bundle_runs.run("r"), str(other))


def test_a_folder_of_no_run_is_refused_naming_the_runs_inside(bundle_runs: BundleRuns, tmp_path: Path) -> None:
    out = bundle_runs.output_dir.as_posix()
    with pytest.raises(BusbenchError, match=rf"{out}: no busbench run folder .*; it is an output folder holding runs: "
                                            rf"bundle one of {out}/a, {out}/b, {out}/c, {out}/r$"):
        make_bundle(bundle_runs.output_dir)  # the output_dir, one level above the runs: the usual slip
    with pytest.raises(BusbenchError, match=r"no busbench run folder .*; give the folder `busbench run` wrote$"):
        make_bundle(tmp_path)


def test_a_run_without_its_data_folder_is_refused_naming_it(bundle_runs: BundleRuns, tmp_path: Path) -> None:
    copy = tmp_path / "results"
    shutil.copytree(bundle_runs.run("a"), copy / "a")
    for environment in (copy / "a").glob("*/*/environment.json"):  # the data folder it was run on, since deleted
        recorded = json.loads(environment.read_text())
        environment.write_text(json.dumps({**recorded, "data_folder": str(tmp_path / "deleted")}))
    with pytest.raises(BusbenchError, match="a bundle names each test case by its content, read from the run's data"):
        make_bundle(copy / "a")


def test_an_edited_cut_or_foreign_bundle_is_refused_naming_the_file(bundle_runs: BundleRuns, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_bundle(bundle_runs.run("a")).model_dump(mode="json")))
    assert read_bundle(good).run == "a"
    edited = raw(good)
    edited["cells"][0]["rows"][0][edited["cells"][0]["columns"].index("dice")] = 0.99  # a Dice changed by hand
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    with pytest.raises(BusbenchError, match=r"edited.json: damaged bundle \(its cells do not match cells_sha256"):
        read_bundle(tmp_path / "edited.json")
    (tmp_path / "cut.json").write_text(good.read_text()[:500])
    with pytest.raises(BusbenchError, match=r"cut.json: damaged bundle \(not valid JSON"):
        read_bundle(tmp_path / "cut.json")
    old = raw(good) | {"format": "busbench-bundle/0"}
    with pytest.raises(BusbenchError, match="old.json: bundle format 'busbench-bundle/0' is not 'busbench-bundle/1'"):
        read_bundle(reseal(old, tmp_path / "old.json"))
    wrong = raw(good)
    del wrong["cells"][0]["test_set"]
    with pytest.raises(BusbenchError, match=r"wrong.json: damaged bundle \(cells.0.test_set: Field required"):
        read_bundle(reseal(wrong, tmp_path / "wrong.json"))
    (tmp_path / "verify.csv").write_text("class,registry_id,copy_id\nexact,a,a\n")  # a file given by mistake
    (tmp_path / "other.json").write_text('{"cases": []}')
    for mistaken in ("verify.csv", "other.json"):
        with pytest.raises(BusbenchError) as error:
            read_bundle(tmp_path / mistaken)
        assert str(error.value) == (f"{tmp_path / mistaken}: not a bundle; give the .json files "
                                    "`busbench bundle RUN --out FILE.json` writes")  # no remaking over it


@pytest.mark.parametrize(("run", "accepted"), [("a", True), ("c", False)])
def test_registry_option_on_a_manifest_older_than_thumbnails_matches_identical_pixels(
        bundle_runs: BundleRuns, run: str, accepted: bool) -> None:
    cell = _cell(bundle_runs.run(run))
    data = bundle_runs.output_dir / "data" / cell.parent.name
    manifest = load_manifest(data)
    old = dataclasses.replace(manifest, frame=manifest.frame.drop(columns=list(FINGERPRINTS)))
    split = load_split(data / json.loads((cell / "environment.json").read_text())["split_file"])
    if accepted:
        keys, held_out = case_keys(split, old, str(bundle_runs.registry), cell)
        assert held_out.matched == "by content when bundled: identical pixels" and set(keys) == set(split.held_out())
        assert held_out.registry_test_set_sha256 == load_registry(bundle_runs.registry)[0].test_set_sha256
    else:
        with pytest.raises(BusbenchError, match=r"not registry tiny-v1's \(matched by identical pixels \(the manifest "
                                                r"has no thumbnails\)\): \d+ of its \d+ test cases are not registry"):
            case_keys(split, old, str(bundle_runs.registry), cell)


def test_a_registry_split_without_registry_ids_asks_for_a_match_by_content(bundle_runs: BundleRuns) -> None:
    cell = _cell(bundle_runs.run("r"))
    data = bundle_runs.output_dir / "data" / cell.parent.name
    split = load_split(data / json.loads((cell / "environment.json").read_text())["split_file"])
    assert split.registry is not None
    older = split.model_copy(update={"registry": split.registry.model_copy(update={"case_keys": {}})})
    with pytest.raises(BusbenchError, match=r"its split records no registry id for \d+ test cases .*bundle it with "
                                            "--registry tiny-v1, which matches the cases by content"):
        case_keys(older, load_manifest(data), None, cell)


def test_a_folder_of_outside_methods_only_is_one_error_saying_what_to_bundle(tmp_path: Path) -> None:
    scored = tmp_path / "truth" / "busi" / "truth"  # as `busbench score --name truth` lays it out
    scored.mkdir(parents=True)
    (scored / SCORE_JSON).write_text("{}")
    for given in (tmp_path / "truth", scored):
        with pytest.raises(BusbenchError) as error:
            make_bundle(given)
        assert str(error.value) == (f"{given}: an outside method's scores (busbench score), which a bundle does not "
                                    "hold; bundle the runs `busbench run` trained (OUTPUT_DIR/<name>)")
