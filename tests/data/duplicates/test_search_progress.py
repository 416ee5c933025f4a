"""The duplicate search (minutes on BUS-BRA) prints progress into a redirected stdout: each image
pass, the descriptor hashing and the pair checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_file import console_file

from busbench.data.duplicates.links import DuplicateSettings, cross_duplicate_links, duplicate_links
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset


def test_the_search_prints_progress_lines_into_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare_dataset("synthetic", tmp_path / "raw", tmp_path / "manifest",
                    {"count": 20, "size": 128, "seed": 2, "near_duplicate_rate": 0.3})
    manifest = load_manifest(tmp_path / "manifest")
    with console_file(tmp_path / "stdout.txt", monkeypatch) as out:
        links = duplicate_links(manifest, DuplicateSettings())
    text = out.read_text()
    assert len(links) > 0
    assert "searching 20 images for exact and near duplicates" in text
    for line in ("duplicate search: overlay statistics: 20/20 (100 %)",
                 "duplicate search: keypoints and hashes: 20/20 (100 %)",
                 "duplicate search: hashing descriptors of the images: 8/8 (100 %)",
                 "duplicate search: hashing descriptors of the images and mirrors: 8/8 (100 %)",
                 "duplicate search: counting shared descriptors of the images: 1/1 (100 %)"):
        assert line in text, line
    checked = [x for x in text.splitlines() if "duplicate search: checking candidate pairs: " in x]
    assert checked and checked[-1].split(": ")[-1].startswith(tuple(f"{n}/{n} " for n in range(1, 400)))


def test_the_search_between_two_sets_prints_them_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare_dataset("synthetic", tmp_path / "raw", tmp_path / "manifest", {"count": 12, "size": 48, "seed": 4})
    manifest = load_manifest(tmp_path / "manifest")
    ids = manifest.frame["case_id"].tolist()
    with console_file(tmp_path / "stdout.txt", monkeypatch) as out:
        cross_duplicate_links(manifest, ids[:5], manifest, ids[5:], DuplicateSettings())
    text = out.read_text()
    assert "duplicate search: keypoints and hashes: 5/5" in text and "keypoints and hashes: 7/7" in text
