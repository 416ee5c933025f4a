"""The synthetic generator: deterministic, realistic in the ways that matter, exact masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from console_file import console_file
from scipy.ndimage import binary_dilation

from busbench.data import synthetic
from busbench.data.prepare import prepare_dataset
from busbench.data.synthetic import generate_cases


def test_same_seed_same_cases_and_prefix_stability() -> None:
    a = generate_cases(10, 48, seed=1)
    b = generate_cases(10, 48, seed=1)
    longer = generate_cases(14, 48, seed=1)
    for x, y, z in zip(a, b, longer):
        assert (x.name, x.label, x.patient_id) == (y.name, y.label, y.patient_id) == (z.name, z.label, z.patient_id)
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.mask, z.mask)
    other = generate_cases(10, 48, seed=2)
    assert any(not np.array_equal(x.image, y.image) for x, y in zip(a, other))


def test_masks_match_darker_lesions_and_normals_have_none() -> None:
    data = generate_cases(40, 96, seed=0, near_duplicate_rate=0.0)
    labels = {c.label for c in data}
    assert labels == {"normal", "benign", "malignant"}
    for case in data:
        assert case.image.shape == case.mask.shape == (77, 96) and case.image.dtype == np.uint8
        if case.label == "normal":
            assert not case.mask.any()
            continue
        ring = binary_dilation(case.mask, iterations=4) & ~case.mask
        assert case.mask.any()
        assert case.image[case.mask].mean() < 0.75 * case.image[ring].mean()  # hypoechoic


def test_malignant_lesions_are_less_regular_and_shadowed() -> None:
    data = generate_cases(80, 128, seed=4, near_duplicate_rate=0.0)

    def solidity(mask: np.ndarray) -> float:
        from scipy.spatial import ConvexHull

        points = np.argwhere(mask)
        return mask.sum() / ConvexHull(points).volume

    def below_ratio(case) -> float:
        rows, cols = np.nonzero(case.mask)
        below = case.image[rows.max() + 3:rows.max() + 15, cols.min():cols.max() + 1]
        beside = case.image[rows.max() + 3:rows.max() + 15, :max(cols.min() - 5, 1)]
        return below.mean() / max(beside.mean(), 1.0)

    benign = [c for c in data if c.label == "benign" and c.mask.sum() > 30]
    malignant = [c for c in data if c.label == "malignant" and c.mask.sum() > 30]
    assert np.mean([solidity(c.mask) for c in malignant]) < np.mean([solidity(c.mask) for c in benign])
    assert np.median([below_ratio(c) for c in malignant]) < np.median([below_ratio(c) for c in benign])


def test_patients_have_one_or_two_views_and_near_copies_exist() -> None:
    data = generate_cases(120, 32, seed=0, near_duplicate_rate=0.2)
    per_patient: dict[str, list] = {}
    for case in data:
        per_patient.setdefault(case.patient_id, []).append(case)
    assert {len(v) for v in per_patient.values()} == {1, 2}
    copies = [c for c in data if c.patient_id.endswith("D")]
    assert copies
    for copy in copies:
        source = next(c for c in data if c is not copy and np.array_equal(c.mask, copy.mask) and c.label == copy.label)
        assert np.abs(source.image.astype(int) - copy.image.astype(int)).max() <= 3


def test_prepare_synthetic_prints_progress_while_it_generates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`busbench prepare synthetic -o count=500 -o size=256` generated for 36 s without a line on a redirected
    output; the generation now prints progress lines like every long step."""
    lines_before_write: list[int] = []  # progress lines on the output when each PNG is written
    write_png = synthetic.write_png

    def counting_write_png(image: np.ndarray, path: Path) -> None:
        lines_before_write.append((tmp_path / "out.txt").read_text().count("generating synthetic images"))
        write_png(image, path)

    monkeypatch.setattr(synthetic, "write_png", counting_write_png)
    with console_file(tmp_path / "out.txt", monkeypatch) as out:
        prepare_dataset("synthetic", tmp_path / "raw", tmp_path / "data", {"count": 6, "size": 32})
    text = out.read_text()
    assert "generating synthetic images: 1/6 (16 %)" in text and "generating synthetic images: 6/6 (100 %)" in text
    assert len(list((tmp_path / "raw" / "images").glob("*.png"))) == 6
    # each case is written as it is generated, so the progress covers the writing too (not 6 lines, then 12 PNGs)
    assert lines_before_write == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
