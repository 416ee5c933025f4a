"""The final scoring carries each test image's leakage group, so the report can resample patients."""

from __future__ import annotations

import json

import torch

from busbench.config import EvalConfig
from busbench.data.cache import build_cache
from busbench.data.manifest import Manifest
from busbench.data.prepared import PreparedData
from busbench.data.split.split_file import SplitSettings, plan_split, write_split
from busbench.evaluate.held_out_scoring import score_test_set
from busbench.evaluate.inference import Compute
from busbench.evaluate.postprocess import PostProcessing


class _NoLesion(torch.nn.Module):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.full_like(image[:, :1], -10.0)


def test_per_image_scores_carry_the_split_group(synthetic_manifest: Manifest, tmp_path) -> None:
    split_path = tmp_path / "split.json"
    split = plan_split(synthetic_manifest, SplitSettings(folds=2))
    write_split(split, split_path)
    data = PreparedData(synthetic_manifest, split_path, split, build_cache(synthetic_manifest, 32, cache_root=tmp_path))
    scores = score_test_set([_NoLesion()], data, EvalConfig(), Compute(torch.device("cpu")),
                            {"plain": PostProcessing()})
    cases = {c["case_id"]: c for c in json.loads(split_path.read_text())["cases"]}
    assert sorted(scores["case_id"]) == sorted(c for c, case in cases.items() if case["set"] == "test")
    assert scores["group"].tolist() == [cases[c]["group"] for c in scores["case_id"]]
    # independently of the split's own bookkeeping: one patient's test images share one group
    patients = synthetic_manifest.frame.set_index("case_id").loc[scores["case_id"], "patient_id"].to_numpy()
    per_patient = scores.assign(patient=patients).groupby("patient")["group"].nunique()
    assert (per_patient == 1).all() and (scores.assign(patient=patients).groupby("patient").size() > 1).any()
