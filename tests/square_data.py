"""A small BUSI-layout dataset whose lesions are squares at known places, prepared and split, for
the scoring and export tests: ground truth can then be built by hand, not read through busbench."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from layouts import cases, make_busi

from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split.split_file import SplitSettings, plan_split, write_split

SIZE, SIDE = 40, 8  # generated width (the images are 32 px high), lesion square side
HEIGHT = 32


@dataclass(frozen=True)
class SquareData:
    data_dir: Path  # manifest.csv + one split file
    split_path: Path
    squares: dict[str, tuple[int, int]]  # case id -> (top, left) of its lesion square; normal cases absent
    test_ids: list[str]  # read from the split JSON itself
    fold_of: dict[str, int]  # development case id -> fold, from the split JSON itself

    def truth(self, case_id: str) -> np.ndarray:
        mask = np.zeros((HEIGHT, SIZE), dtype=bool)
        if case_id in self.squares:
            top, left = self.squares[case_id]
            mask[top:top + SIDE, left:left + SIDE] = True
        return mask

    def lesion_test_ids(self) -> list[str]:
        return [c for c in self.test_ids if c in self.squares]

    def normal_test_ids(self) -> list[str]:
        return [c for c in self.test_ids if c not in self.squares]


def make_square_data(base: Path, count: int = 24) -> SquareData:
    generated = cases(count, seed=11, size=SIZE)
    squares_by_index = {}
    shaped = []
    for i, case in enumerate(generated, start=1):
        assert case.image.shape == (HEIGHT, SIZE)
        mask = np.zeros((HEIGHT, SIZE), dtype=bool)
        if case.label != "normal":
            top, left = 2 + (i % 5) * 4, 4 + (i % 3) * 6
            mask[top:top + SIDE, left:left + SIDE] = True
            squares_by_index[f"{case.label} ({i})"] = (top, left)
        shaped.append(replace(case, mask=mask))
    root = make_busi(base / "raw", shaped)
    data_dir = base / "data" / "busi-squares"
    prepare_dataset("busi", root, data_dir)
    manifest = load_manifest(data_dir)
    split_path = data_dir / "split-test.json"
    write_split(plan_split(manifest, SplitSettings(test_size=0.25, folds=2, seed=1)), split_path)
    document = json.loads(split_path.read_text())
    test_ids = sorted(c["case_id"] for c in document["cases"] if c["set"] == "test")
    fold_of = {c["case_id"]: c["fold"] for c in document["cases"] if c["set"] == "cv"}
    return SquareData(data_dir, split_path, squares_by_index, test_ids, fold_of)
