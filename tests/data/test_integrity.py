"""Dataset files edited or deleted after `prepare` are refused before any step uses the manifest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from busbench.config import load_config
from busbench.data.integrity import MTIMES
from busbench.data.manifest import MANIFEST_META, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.errors import BusbenchError
from busbench.pipeline import prepare_data


def _prepared(tmp_path: Path) -> Path:
    prepare_dataset("synthetic", tmp_path / "raw", tmp_path / "data", {"count": 12, "size": 32, "seed": 1})
    return tmp_path / "data"


def test_a_mask_fixed_in_place_after_prepare_is_refused_with_the_refresh_command(tmp_path: Path) -> None:
    """The issue's case: `run` prepared the data, the user fixes a mask in place, `run` again."""
    cfg = load_config(None, [f"output_dir={tmp_path}", "data.options={count: 12, size: 32, seed: 1}",
                             "input.size=32", "split.folds=2"])
    data = prepare_data(cfg)
    row = data.manifest.frame.iloc[0]
    mask = data.manifest.mask_files(row)[0]
    fixed = np.asarray(Image.open(mask)).copy()
    fixed[:8, :8] = 255 - fixed[:8, :8]
    Image.fromarray(fixed).save(mask)
    relative = mask.relative_to(data.manifest.root).as_posix()
    with pytest.raises(BusbenchError, match=rf"1 dataset file under .* changed since `busbench prepare` read them: "
                                            rf"{relative} \(edited\).*busbench prepare synthetic --root "):
        prepare_data(cfg)


def test_a_deleted_image_is_refused_naming_it(tmp_path: Path) -> None:
    data_dir = _prepared(tmp_path)
    manifest = load_manifest(data_dir)
    image = manifest.image_file(manifest.frame.iloc[3])
    image.unlink()
    with pytest.raises(BusbenchError, match=rf"{image.name} \(deleted\)"):
        load_manifest(data_dir)


def test_an_edit_of_the_same_size_is_caught_by_its_hash(tmp_path: Path) -> None:
    """An edit of the same size is caught by its new time, then by its hash."""
    data_dir = _prepared(tmp_path)
    manifest = load_manifest(data_dir)
    image = manifest.image_file(manifest.frame.iloc[2])
    raw = bytearray(image.read_bytes())
    raw[-20] ^= 0xFF  # same size, other bytes
    image.write_bytes(bytes(raw))
    with pytest.raises(BusbenchError, match=r"\(edited\)"):
        load_manifest(data_dir)


def test_a_touched_or_copied_file_passes_and_its_new_time_is_recorded(tmp_path: Path) -> None:
    data_dir = _prepared(tmp_path)
    manifest = load_manifest(data_dir)
    image = manifest.image_file(manifest.frame.iloc[0])
    stat = image.stat()
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = load_manifest(data_dir)
    assert again.sha256 == manifest.sha256
    recorded = json.loads((data_dir / MANIFEST_META).read_text())[MTIMES]
    assert recorded[manifest.frame.iloc[0]["image_path"]] == stat.st_mtime_ns + 10**9


def test_the_manifest_records_every_file_size_and_hash(tmp_path: Path) -> None:
    manifest = load_manifest(_prepared(tmp_path))
    row = manifest.frame.iloc[0]
    sizes, hashes = json.loads(row["file_bytes"]), json.loads(row["file_sha256"])
    files = [manifest.image_file(row), *manifest.mask_files(row)]
    assert sizes == [f.stat().st_size for f in files] and len(hashes) == len(files)


def test_content_is_checked_for_the_cases_asked_whatever_size_and_time_say(tmp_path: Path) -> None:
    data_dir = _prepared(tmp_path)
    manifest = load_manifest(data_dir)
    edited_row, deleted_row = manifest.frame.iloc[2], manifest.frame.iloc[5]
    image = manifest.image_file(edited_row)
    stat, raw = image.stat(), bytearray(image.read_bytes())
    raw[-20] ^= 0xFF  # same size, other bytes, its time put back: the check every load makes passes
    image.write_bytes(bytes(raw))
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    load_manifest(data_dir)
    manifest.mask_files(deleted_row)[0].unlink()
    others = [c for c in manifest.frame["case_id"] if c not in (edited_row["case_id"], deleted_row["case_id"])]
    manifest.verify_contents(others)
    with pytest.raises(BusbenchError, match=rf"2 dataset files .*\(held-out test files, compared by content\): "
                                            rf"{edited_row['image_path']} \(edited\), .* \(deleted\)\. Restore them"):
        manifest.verify_contents([edited_row["case_id"], deleted_row["case_id"]])
