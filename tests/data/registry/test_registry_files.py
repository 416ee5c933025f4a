"""Registries made, read and applied: a split published and re-applied by content gives the same
roles; a copy that differs is refused, or with ``registry_mismatch`` keeps extra cases out of the
test set; damaged registries are refused naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_runner import run_cli

from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.registry.assign import plan_registry_split
from busbench.data.registry.build import build_registry
from busbench.data.registry.planning import plan
from busbench.data.registry.record import Registry, load_registry, registry_bytes, registry_path
from busbench.data.split.record import TEST
from busbench.data.split.split_file import SplitSettings, plan_split, write_split
from busbench.errors import BusbenchError


@pytest.fixture(scope="module")
def published(synthetic_manifest: Manifest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, Path, str]:
    split = plan_split(synthetic_manifest, SplitSettings(test_size=0.25, folds=3, seed=5))
    path = tmp_path_factory.mktemp("registry") / "toy-v1.json"
    path.write_bytes(registry_bytes(build_registry(synthetic_manifest, split, "toy-v1", "synthetic 60")))
    return load_registry(path)


def _copy_without(manifest: Manifest, tmp: Path, drop: list[str], add: dict[str, np.ndarray]) -> Manifest:
    """The synthetic dataset's raw folder copied, some cases removed, foreign images (empty masks) added."""
    raw = tmp / "raw"
    shutil.copytree(manifest.root, raw)
    rows = manifest.frame.set_index("case_id")
    for case in drop:
        (raw / rows.loc[case, "image_path"]).unlink()
        for mask in json.loads(rows.loc[case, "mask_paths"]):
            (raw / mask).unlink()
    image_dir = (raw / rows["image_path"].iloc[0]).parent
    mask_dir = (raw / json.loads(rows["mask_paths"].iloc[0])[0]).parent
    for name, image in add.items():
        cv2.imwrite(str(image_dir / f"{name}.png"), image)
        cv2.imwrite(str(mask_dir / f"{name}.png"), np.zeros_like(image))
    prepare_dataset("folder", raw, tmp / "prepared")  # the generator's layout read as a user's own folder
    return load_manifest(tmp / "prepared")


def test_a_published_split_comes_back_from_its_registry(synthetic_manifest: Manifest,
                                                         published: tuple[Registry, Path, str]) -> None:
    registry, path, sha256 = published
    original = plan_split(synthetic_manifest, SplitSettings(test_size=0.25, folds=3, seed=5))
    again = plan_registry_split(synthetic_manifest, registry, sha256, mismatch=False)
    assert [(c.case_id, c.set, c.fold, c.group) for c in again.cases] == [
        (c.case_id, c.set, c.fold, c.group) for c in original.cases]
    assert again.test_set_sha256 == original.test_set_sha256
    assert again.registry is not None and again.registry.name == "toy-v1" and again.registry.sha256 == sha256
    assert again.registry.test_set_sha256 == registry.test_set_sha256
    assert json.loads(path.read_text())["created_by"]["busbench"]


def test_the_registry_file_is_readable_one_case_a_line(published: tuple[Registry, Path, str]) -> None:
    registry, path, _ = published
    lines = path.read_text().splitlines()
    case_lines = [line for line in lines if line.startswith('  ["')]
    assert len(case_lines) == 60
    assert registry_bytes(registry) == path.read_bytes()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda text: text[:-40], "not a registry file"),
    (lambda text: text.replace("busbench-registry/1", "busbench-registry/0"), "format 'busbench-registry/0'"),
    (lambda text: text.replace('"cv", 1,', '"test", null,', 1), "test set does not match test_set_sha256"),
    (lambda text: text.replace('"cv", 1,', '"cv", 9,', 1), r"valid registry \(.*development folds must be 1\.\.3"),
])
def test_a_damaged_registry_is_refused_naming_the_file(tmp_path: Path, published: tuple[Registry, Path, str],
                                                        edit: object, message: str) -> None:
    _, path, _ = published
    bad = tmp_path / "bad.json"
    bad.write_text(edit(path.read_text()))  # type: ignore[operator]
    with pytest.raises(BusbenchError, match=message) as error:
        load_registry(bad)
    assert str(bad) in str(error.value)


def test_an_unknown_registry_name_lists_the_shipped_ones() -> None:
    with pytest.raises(BusbenchError, match="busi-v1"):
        load_registry("busi-v9")


def test_a_copy_that_differs_is_refused_then_split_with_extras_in_development(
        synthetic_manifest: Manifest, published: tuple[Registry, Path, str], tmp_path: Path) -> None:
    registry, _, sha256 = published
    roles = registry.frame().set_index("case_id")
    test_case = roles.index[roles["part"] == TEST][0]
    rng = np.random.default_rng(0)
    foreign = {f"foreign{i}": cv2.GaussianBlur(rng.uniform(0, 255, (48, 48)).astype(np.uint8), (0, 0), 3)
               for i in range(4)}
    copy = _copy_without(synthetic_manifest, tmp_path, [test_case], foreign)
    with pytest.raises(BusbenchError, match=r"4 cases of your copy not in it .*1 registry case missing") as error:
        plan_registry_split(copy, registry, sha256, mismatch=False)
    assert "busbench verify" in str(error.value) and "--allow-mismatch" in str(error.value)
    split = plan_registry_split(copy, registry, sha256, mismatch=True)
    assert split.registry is not None
    assert list(split.registry.extra_cases) == sorted(foreign) and list(split.registry.missing_cases) == [test_case]
    development = split.development()
    assert all(name in development for name in foreign)  # extras train, never test
    assert split.registry.test_set_sha256 != registry.test_set_sha256  # one test image fewer
    assert len(split.held_out()) == int((roles["part"] == TEST).sum()) - 1


def test_an_extra_near_duplicate_of_a_test_image_is_refused(synthetic_manifest: Manifest,
                                                            published: tuple[Registry, Path, str],
                                                            tmp_path: Path) -> None:
    registry, _, sha256 = published
    roles = registry.frame().set_index("case_id")
    test_case = roles.index[roles["part"] == TEST][0]
    rows = synthetic_manifest.frame.set_index("case_id")
    image = cv2.imread(str(synthetic_manifest.root / rows.loc[test_case, "image_path"]), cv2.IMREAD_GRAYSCALE)
    nudged = np.clip(image.astype(int) + 6, 0, 255).astype(np.uint8)  # another exposure of the same frame
    copy = _copy_without(synthetic_manifest, tmp_path, [], {"nudged": nudged})
    with pytest.raises(BusbenchError, match="nudged: not in the registry, but near-duplicates of its test images"):
        plan_registry_split(copy, registry, sha256, mismatch=True)


def test_a_registry_of_another_dataset_is_refused(synthetic_manifest: Manifest) -> None:
    registry, _, sha256 = load_registry("busi-v1")
    with pytest.raises(BusbenchError, match=r"manifest.csv: only 0 of its 60 cases match registry busi-v1, made for"):
        plan_registry_split(synthetic_manifest, registry, sha256, mismatch=True)


def test_split_registry_and_nnunet_export_use_the_registry_folds(
        synthetic_manifest: Manifest, published: tuple[Registry, Path, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    registry, path, _ = published
    data = tmp_path / "data"
    shutil.copytree(synthetic_manifest.path.parent, data)
    assert run_cli(monkeypatch, "split", str(data), "--registry", str(path)) == 0
    (split_file,) = data.glob("split-registry-toy-v1-*.json")
    assert json.loads(split_file.read_text())["registry"]["name"] == "toy-v1"
    assert run_cli(monkeypatch, "export", "nnunet", str(data), "--split", str(split_file), "--out",
                   str(tmp_path / "raw"), "--dataset-id", "501", "--name", "Toy") == 0
    (folder,) = (tmp_path / "raw").glob("Dataset501_*")
    ids = {row.split(",")[0]: row.split(",")[1] for row in (folder / "case_ids.csv").read_text().splitlines()[1:]}
    folds = json.loads((folder / "splits_final.json").read_text())
    roles = registry.frame().set_index("case_id")
    for k, fold in enumerate(folds, 1):
        assert sorted(ids[i] for i in fold["val"]) == sorted(roles.index[roles["fold"] == k])


def test_registry_list_and_build_on_the_command_line(published: tuple[Registry, Path, str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "registry", "list") == 0
    assert "busi-v1" in capsys.readouterr().out
    _, path, _ = published
    assert run_cli(monkeypatch, "registry", "build", str(path.parent), "--split", str(path), "--name", "x",
                   "--out", str(path)) == 2
    assert "exists" in capsys.readouterr().err


def test_another_file_named_as_a_shipped_registry_is_refused(tmp_path: Path, synthetic_manifest: Manifest) -> None:
    shipped = json.loads(registry_path("busi-v1").read_text())
    shipped["description"] += " (my copy)"  # any change: the roles, a mask's hash
    (tmp_path / "busi-v1.json").write_text(json.dumps(shipped))
    with pytest.raises(BusbenchError, match=f"{tmp_path / 'busi-v1.json'}: calls itself busi-v1, a registry busbench "
                                            "ships, but is another file"):
        load_registry(tmp_path / "busi-v1.json")
    assert load_registry(registry_path("busi-v1"))[0].name == "busi-v1"  # the shipped file by its path
    with pytest.raises(BusbenchError, match="--name busi-v1: the name of a registry busbench ships"):
        build_registry(synthetic_manifest, plan_split(synthetic_manifest, SplitSettings(folds=2)), "busi-v1", "test")


def test_a_split_from_a_registry_is_not_published_again(published: tuple[Registry, Path, str],
                                                        synthetic_manifest: Manifest, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    registry, path, sha256 = published
    split_file = tmp_path / "split.json"
    write_split(plan_registry_split(synthetic_manifest, registry, sha256, mismatch=False), split_file)
    assert run_cli(monkeypatch, "registry", "build", str(synthetic_manifest.path), "--split", str(split_file),
                   "--name", "toy-v2", "--out", str(tmp_path / "toy-v2.json")) == 2
    assert f"--split {split_file}: made from registry toy-v1; publish that registry" in capsys.readouterr().err
    assert not (tmp_path / "toy-v2.json").exists()


@pytest.mark.parametrize("other", [{"official": True}, {"protocol": "image_level"}])
def test_a_registry_with_another_way_of_splitting_is_refused(synthetic_manifest: Manifest,
                                                             other: dict[str, object]) -> None:
    settings = SplitSettings(registry="busi-v1", **other)  # type: ignore[arg-type]
    with pytest.raises(BusbenchError, match="split.registry 'busi-v1' gives every case its role; it cannot be "
                                            "combined with split.official or split.protocol=image_level"):
        plan(synthetic_manifest, settings)
