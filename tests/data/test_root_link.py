"""A dataset root given through a symbolic link that is re-pointed after `prepare`: the manifest
keeps reading the folder it was prepared from, and says so once."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from layouts import cases, make_pairs

from busbench.data.manifest import MANIFEST_META, load_manifest
from busbench.data.prepare import prepare_dataset


@pytest.fixture()
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """A folder dataset prepared through ``current`` -> ``first``, and a copy ``second``."""
    make_pairs(tmp_path / "first", cases(6, seed=31))
    shutil.copytree(tmp_path / "first", tmp_path / "second")
    (tmp_path / "current").symlink_to(tmp_path / "first")
    prepare_dataset("folder", tmp_path / "current", tmp_path / "out")
    return tmp_path / "current", tmp_path / "out"


def test_the_root_is_recorded_as_given_and_resolved(linked: tuple[Path, Path]) -> None:
    link, out = linked
    meta = (out / MANIFEST_META).read_text()
    assert f'"root": "{link.parent / "first"}"' in meta and f'"root_as_given": "{link}"' in meta


def test_a_repointed_link_is_warned_about_once_naming_both_folders(linked: tuple[Path, Path],
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    link, out = linked
    link.unlink()
    link.symlink_to(link.parent / "second")
    with caplog.at_level(logging.WARNING, logger="busbench"):
        first = load_manifest(out)
        load_manifest(out / "manifest.csv")
    assert first.root == link.parent / "first"  # the files its checksums were made from
    assert [r.getMessage() for r in caplog.records] == [
        f"warning: {link} now leads to {link.parent / 'second'}, but {out / 'manifest.csv'} was prepared from "
        f"{link.parent / 'first'}, where it led then, and busbench keeps reading that folder; to use the data it "
        f"leads to now, prepare again: `busbench prepare folder --root {link} --out {out} -o allow_mask_gaps=false "
        "-o images_dir=images -o mask_suffix= -o masks_dir=masks -o name=folder`"]


@pytest.mark.parametrize("change", ["none", "removed"])
def test_an_unchanged_or_removed_link_says_nothing(linked: tuple[Path, Path], caplog: pytest.LogCaptureFixture,
                                                   change: str) -> None:
    link, out = linked
    if change == "removed":
        link.unlink()
    with caplog.at_level(logging.WARNING, logger="busbench"):
        assert load_manifest(out).root == link.parent / "first"
    assert caplog.records == []
