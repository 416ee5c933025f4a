"""`busbench verify` from the command line: exit 0 for a copy the registry's split applies to, 1 with
what to do for one it does not, 2 with nothing written for bad input; the CSV of every case."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from busi_copies import busi_cases, prepared, subset, write_case
from cli_runner import run_cli

from busbench.data.manifest import Manifest
from busbench.data.registry import record
from busbench.data.registry.record import load_registry

TOTAL = 780


@pytest.fixture(scope="module")
def small_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 120 BUSI cases in BUSI's layout, unaltered: the rest of busi-v1 is missing."""
    raw = tmp_path_factory.mktemp("copy") / "busi"
    cases = busi_cases()
    for cid in subset(cases):
        write_case(cases[cid], raw)
    return raw


def _printed(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return " ".join((captured.out + captured.err).split())


def test_the_shipped_copy_agrees(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                 tmp_path: Path, busi_manifest: Manifest) -> None:
    out = tmp_path / "cases.csv"
    assert run_cli(monkeypatch, "verify", str(busi_manifest.path), "--out", str(out)) == 0
    printed = _printed(capsys)
    assert "exact 780 same image and mask pixels, same name" in printed
    assert f"`busbench split {busi_manifest.path.parent} --registry busi-v1` gives the published test set" in printed
    written = pd.read_csv(out, keep_default_na=False)
    assert list(written.columns) == ["class", "registry_case_id", "copy_case_id", "detail", "correlation"]
    assert len(written) == TOTAL and set(written["class"]) == {"exact"}


def test_a_raw_copy_with_missing_cases_fails_and_says_what_to_do(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, small_copy: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, "verify", str(small_copy), "--registry", "busi-v1") == 1
    printed = _printed(capsys)
    written = pd.read_csv(tmp_path / "verify.csv", keep_default_na=False)
    exact = int((written["class"] == "exact").sum())
    assert f"exact {exact} " in printed and f"missing {TOTAL - exact} registry cases not in your copy" in printed
    assert "missing: restore the missing files" in printed
    assert (f"`busbench prepare busi --root {small_copy} --out DIR`, then `busbench split DIR --registry busi-v1 "
            "--allow-mismatch`") in printed
    assert len(written) == TOTAL


def test_a_prepared_copy_writes_beside_its_manifest(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], small_copy: Path) -> None:
    manifest = prepared(small_copy)
    (manifest.path.parent / "verify.csv").unlink(missing_ok=True)
    assert run_cli(monkeypatch, "verify", str(manifest.path.parent)) == 1
    assert f"Every case with its class: {manifest.path.parent / 'verify.csv'}" in _printed(capsys)
    assert len(pd.read_csv(manifest.path.parent / "verify.csv")) == TOTAL


def _refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], folder: Path, *args: str) -> str:
    before = sorted(folder.rglob("*"))
    assert run_cli(monkeypatch, "verify", *args) == 2
    assert sorted(folder.rglob("*")) == before  # nothing written
    printed = _printed(capsys)
    assert "Traceback" not in printed
    return printed[printed.index("error: "):]  # after any progress line a slow machine prints first


def test_a_damaged_registry_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path, busi_manifest: Manifest) -> None:
    _, path, _ = load_registry("busi-v1")
    raw = json.loads(path.read_text())
    raw["cases"][0][1] = "test" if raw["cases"][0][1] != "test" else "development"
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(raw))
    printed = _refused(monkeypatch, capsys, tmp_path, str(busi_manifest.path), "--registry", str(damaged),
                       "--out", str(tmp_path / "v.csv"))
    assert f"{damaged}: not a valid registry" in printed


def test_another_dataset_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                    tmp_path: Path) -> None:
    raw = tmp_path / "bra"
    bra = Path(busi_cases()["benign (1)"].image).parents[2] / "BUSBRA"
    for name in sorted((bra / "Images").glob("bus_*.png"))[:20]:
        (raw / "images").mkdir(parents=True, exist_ok=True)
        (raw / "masks").mkdir(exist_ok=True)
        (raw / "images" / name.name).write_bytes(name.read_bytes())
        (raw / "masks" / name.name).write_bytes((bra / "Masks" / name.name.replace("bus_", "mask_")).read_bytes())
    printed = _refused(monkeypatch, capsys, tmp_path, str(raw), "--registry", "busi-v1", "--adapter",
                       "folder", "--out", str(tmp_path / "v.csv"))
    assert f"{raw}: only 0 of its 20 cases match registry busi-v1" in printed


@pytest.mark.parametrize(("args", "message"), [
    ((), "a raw dataset folder (no manifest.csv); pass --adapter"),
    (("--adapter", "folder"), "--registry: pass a registry file (none is shipped for 'folder')"),
])
def test_which_registry_or_adapter_to_pass(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path, small_copy: Path, args: tuple[str, ...],
                                           message: str) -> None:
    raw = tmp_path / "plain"
    case = busi_cases()["benign (1)"]
    for folder, source in (("images", case.image), ("masks", case.masks[0])):
        (raw / folder).mkdir(parents=True)
        (raw / folder / "benign (1).png").write_bytes(source.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert message in _refused(monkeypatch, capsys, tmp_path, str(raw), *args)


def test_several_shipped_registries_of_the_dataset(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   busi_manifest: Manifest) -> None:
    _, path, _ = load_registry("busi-v1")
    monkeypatch.setattr(record, "shipped_registries", lambda: {"busi-v1": path, "busi-v2": path})
    printed = _refused(monkeypatch, capsys, tmp_path, str(busi_manifest.path), "--out", str(tmp_path / "v.csv"))
    assert "--registry: pass one of busi-v1, busi-v2" in printed


def test_no_such_data(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "no such file or folder" in _refused(monkeypatch, capsys, tmp_path, str(tmp_path / "nothing"))
