"""The preprocessed cache: built once, memory-mapped, tied to its manifest."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from busbench.data import cache as cache_module
from busbench.data.cache import build_cache, open_cache
from busbench.data.choices import ResizeMode
from busbench.data.geometry import to_original
from busbench.data.io import read_mask
from busbench.data.manifest import Manifest, load_manifest
from busbench.errors import BusbenchError


def test_cache_holds_every_case_resized_with_its_placement(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    cache = build_cache(synthetic_manifest, 40, cache_root=tmp_path)
    n = len(synthetic_manifest.frame)
    assert cache.images.shape == (n, 40, 40) and cache.images.dtype == np.uint8
    assert cache.masks.shape == (n, 40, 40) and set(np.unique(cache.masks)) <= {0, 1}
    assert isinstance(cache.images, np.memmap)
    row = synthetic_manifest.frame.iloc[5]
    placement = cache.placement(row["case_id"])
    assert (placement.orig_h, placement.orig_w) == (row["height"], row["width"])
    original = read_mask(synthetic_manifest.mask_files(row)[0]).lesion
    back = to_original(cache.masks[cache.rows([row["case_id"]])[0]].astype(np.float32), placement) >= 0.5
    assert back.shape == original.shape
    if original.any():
        assert 2 * (back & original).sum() / (back.sum() + original.sum()) > 0.8


def test_rgb_cache_and_reuse(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    first = build_cache(synthetic_manifest, 24, mode="resize", channels=3, cache_root=tmp_path)
    assert first.images.shape[1:] == (24, 24, 3)
    stamp = (first.path / "images.npy").stat().st_mtime_ns
    again = build_cache(synthetic_manifest, 24, mode="resize", channels=3, cache_root=tmp_path)
    assert again.path == first.path and (again.path / "images.npy").stat().st_mtime_ns == stamp


def test_a_cache_of_another_manifest_is_refused(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    cache = build_cache(synthetic_manifest, 24, cache_root=tmp_path)
    copy_dir = tmp_path / "other"
    copy_dir.mkdir()
    (copy_dir / "manifest.json").write_text((synthetic_manifest.path.parent / "manifest.json").read_text())
    (copy_dir / "manifest.csv").write_text(synthetic_manifest.path.read_text().replace("benign", "malignant", 1))
    with pytest.raises(BusbenchError, match="built from another version"):
        open_cache(cache.path, load_manifest(copy_dir))


def test_an_interrupted_build_is_not_a_cache(tmp_path: Path) -> None:
    (tmp_path / "x.partial").mkdir()
    with pytest.raises(BusbenchError, match="not a complete busbench cache"):
        open_cache(tmp_path / "x.partial")


def test_cache_pickles_without_its_arrays(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    cache = build_cache(synthetic_manifest, 24, cache_root=tmp_path)
    _ = cache.images
    clone = pickle.loads(pickle.dumps(cache))
    assert len(pickle.dumps(cache)) < 10_000
    np.testing.assert_array_equal(clone.images, cache.images)


def test_bad_cache_settings_are_named(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    with pytest.raises(BusbenchError, match="resize mode 'crop'"):
        build_cache(synthetic_manifest, 24, mode="crop", cache_root=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(BusbenchError, match=r"channels must be 1 \(grey\) or 3 \(RGB\), got 2: set --channels "
                                            r"\(busbench cache\) or input.channels"):
        build_cache(synthetic_manifest, 24, channels=2, cache_root=tmp_path)


def _zeroed(path: Path) -> None:
    """The issue's case: the array's data overwritten with zeros, its size and header kept."""
    header = len(path.read_bytes()) - np.load(path, mmap_mode="r").nbytes
    path.write_bytes(path.read_bytes()[:header] + bytes(path.stat().st_size - header))


@pytest.mark.parametrize(("damage", "array", "why"), [
    ("delete", "images.npy", "No such file"), ("truncate", "masks.npy", ""), ("garbage", "images.npy", ""),
    ("zero", "images.npy", "its content differs from the checksum recorded when the cache was built"),
    ("zero", "masks.npy", "its content differs from the checksum recorded when the cache was built"),
    ("no checksum", "masks.npy", "records no checksum of images.npy (built by an older busbench)")])
def test_a_damaged_cache_is_rebuilt(synthetic_manifest: Manifest, tmp_path: Path, damage: str, array: str,
                                    why: str, caplog: pytest.LogCaptureFixture) -> None:
    first = build_cache(synthetic_manifest, 24, cache_root=tmp_path)
    expected = np.array(first.masks), np.array(first.images)
    path = first.path / array
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "zero":
        _zeroed(path)
        assert np.load(path).shape == expected[array == "images.npy"].shape and not np.load(path).any()
    elif damage == "no checksum":  # a cache of an older busbench
        meta = json.loads((first.path / "meta.json").read_text())
        del meta["array_sha256"]
        (first.path / "meta.json").write_text(json.dumps(meta))
    else:
        path.write_bytes(b"not an array")
    again = build_cache(synthetic_manifest, 24, cache_root=tmp_path)
    named = "meta.json" if damage == "no checksum" else array
    assert f"{first.path}: damaged ({named}" in caplog.text and "rebuilding the cache" in caplog.text
    assert why in caplog.text
    assert again.images.any()  # what training and scoring read: never the black images
    np.testing.assert_array_equal(again.masks, expected[0])
    np.testing.assert_array_equal(again.images, expected[1])


def test_sizes_are_bounded_before_any_work(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    with pytest.raises(BusbenchError, match=r"cache size 100000 px: must be 16\.\.4096 px"):
        build_cache(synthetic_manifest, 100_000, cache_root=tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_disk_without_room_for_the_cache_is_refused_before_writing(synthetic_manifest: Manifest, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A memory-mapped array on a full disk dies of SIGBUS ("Bus error", exit 135, no message)."""
    monkeypatch.setattr(cache_module.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 10**6))
    with pytest.raises(BusbenchError, match=r"the cache needs \d+ MB but .* has 1 MB free; free space there"):
        build_cache(synthetic_manifest, 512, cache_root=tmp_path)
    assert not [p for p in tmp_path.rglob("*") if not p.is_dir() and ".locks" not in p.parts]


@pytest.mark.parametrize(("code", "message"), [
    (errno.ENOSPC, r"the disk is full; free space on .*run the same command again"),
    (errno.EFBIG, r"a file grew past .*; raise the limit \(`ulimit -f unlimited`\).*run the same command again"),
])
def test_a_disk_filling_up_while_caching_is_one_line_and_leaves_no_partial_cache(
        synthetic_manifest: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int,
        message: str) -> None:
    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(code, os.strerror(code))

    with monkeypatch.context() as patch:
        patch.setattr(cache_module.os, "posix_fallocate", full)
        with pytest.raises(BusbenchError, match=message) as error:
            build_cache(synthetic_manifest, 24, cache_root=tmp_path)
    assert "\n" not in str(error.value)
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob("*px*"))
    assert build_cache(synthetic_manifest, 24, cache_root=tmp_path).images.shape[1:] == (24, 24)


def test_a_file_size_limit_met_by_busbench_cache_is_one_line(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    """`ulimit -f` for real: the kernel refuses to grow a file past RLIMIT_FSIZE with EFBIG (Python
    ignores SIGXFSZ, which would otherwise kill the process)."""
    limit = 100_000  # bytes; images.npy (60 images at 64 px) needs 246 kB

    def limited() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "busbench", "cache", str(synthetic_manifest.path), "--size", "64",
                           "--out", str(tmp_path)], capture_output=True, text=True, check=False,
                          preexec_fn=limited, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("error: ")
    assert (f"a file grew past this process's file size limit of {limit} bytes (ulimit -f); raise the limit "
            "(`ulimit -f unlimited`)") in " ".join(done.stderr.split())
    assert not list(tmp_path.glob("*px*"))  # neither a cache nor its temporary folder


def test_concurrent_builds_use_their_own_folders_and_leave_none(
        synthetic_manifest: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import busbench.data.cache as cache_module

    write_cache, seen, theirs = cache_module._write_cache, [], []

    def other_process_finishes_first(manifest: Manifest, size: int, mode: ResizeMode, channels: int,
                                     tmp: Path) -> None:
        seen.append(tmp)
        write_cache(manifest, size, mode, channels, tmp)
        if len(seen) == 1:  # while this build runs, another one (its own folder) completes the cache
            theirs.append((build_cache(synthetic_manifest, 16, cache_root=tmp_path).path / "images.npy").stat())

    monkeypatch.setattr(cache_module, "_write_cache", other_process_finishes_first)
    # builders that do not lock (a file system without locks): the lock itself is tested in tests/layout/test_locks.py
    monkeypatch.setattr(cache_module, "locked", lambda *args, **kwargs: contextlib.nullcontext(True))
    cache = build_cache(synthetic_manifest, 16, cache_root=tmp_path)
    assert len(seen) == 2 and seen[0] != seen[1] and seen[0].name.endswith(".tmp")
    assert [p.name for p in tmp_path.iterdir()] == [cache.path.name]  # the first build's folder is gone
    assert cache.images.shape[1:] == (16, 16)
    assert (cache.path / "images.npy").stat().st_ino == theirs[0].st_ino  # the finished cache was kept, not replaced


def test_a_failed_build_leaves_no_folder(
        synthetic_manifest: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("busbench.data.cache.place_image", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_cache(synthetic_manifest, 16, cache_root=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nor the lock it held while building
