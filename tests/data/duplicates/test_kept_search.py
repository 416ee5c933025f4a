"""The duplicate search of a manifest is kept beside it and reused by the next split, never when
anything it depends on changed, and a damaged or unwritable file costs only the reuse."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from busbench.data.duplicates import links as links_module
from busbench.data.duplicates.links import DuplicateSettings, duplicate_links
from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset


@pytest.fixture()
def manifest(tmp_path: Path) -> Manifest:
    """Synthetic images, a tenth of them near-duplicates, so the search finds links."""
    prepare_dataset("synthetic", tmp_path / "raw", tmp_path / "manifest",
                    {"count": 30, "size": 48, "seed": 2, "near_duplicate_rate": 0.3})
    return load_manifest(tmp_path / "manifest")


def _kept(manifest: Manifest) -> list[Path]:
    return sorted(manifest.path.parent.glob("duplicate_links-*.csv"))


def _no_search(*_: object) -> pd.DataFrame:
    raise AssertionError("searched again")


def test_a_second_search_reads_the_kept_links(manifest: Manifest, monkeypatch: pytest.MonkeyPatch) -> None:
    first = duplicate_links(manifest, DuplicateSettings())
    assert len(first) > 0 and len(_kept(manifest)) == 1
    monkeypatch.setattr(links_module, "_links", _no_search)
    again = duplicate_links(manifest, DuplicateSettings())
    pd.testing.assert_frame_equal(again, first)


def test_other_settings_or_another_manifest_search_again(manifest: Manifest, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    duplicate_links(manifest, DuplicateSettings())
    searched = []
    real = links_module._links
    monkeypatch.setattr(links_module, "_links", lambda *a, **k: searched.append(1) or real(*a, **k))
    duplicate_links(manifest, DuplicateSettings(near_duplicate_inliers=12))
    assert len(searched) == 1 and len(_kept(manifest)) == 2
    edited = manifest.frame.copy()  # a manifest of other content: another checksum
    other = Manifest(manifest.path, edited.iloc[:-1], manifest.root, "0" * 64)
    duplicate_links(other, DuplicateSettings())
    assert len(searched) == 2


def test_a_damaged_kept_file_is_searched_again(manifest: Manifest) -> None:
    first = duplicate_links(manifest, DuplicateSettings())
    (kept,) = _kept(manifest)
    kept.write_bytes(b"\x00\xff garbage")
    pd.testing.assert_frame_equal(duplicate_links(manifest, DuplicateSettings()), first)
    assert list(pd.read_csv(kept).columns) == list(first.columns)  # and written again


def test_a_read_only_data_folder_still_splits(manifest: Manifest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated as the faults tests do: every write fails with EROFS (root ignores folder modes)."""
    def read_only(self: Path, text: str) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "write_text", read_only)
    links = duplicate_links(manifest, DuplicateSettings())
    assert len(links) > 0 and _kept(manifest) == []
    assert np.isfinite(links["value"]).all()
