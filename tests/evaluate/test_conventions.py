"""The HD95 conventions of published benchmarks (eval.hd95_space, eval.hd95_empty), on masks whose
distances are counted by hand, and through the final scoring of a test set."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from busbench.config import EvalConfig, load_config
from busbench.data.cache import build_cache
from busbench.data.geometry import place_mask, placement_for
from busbench.data.manifest import Manifest
from busbench.data.prepared import PreparedData
from busbench.data.split.split_file import SplitSettings, plan_split, read_split, write_split
from busbench.evaluate.held_out_scoring import score_test_set
from busbench.evaluate.inference import Compute
from busbench.evaluate.postprocess import PostProcessing
from busbench.evaluate.protocol import protocol_notes
from busbench.metrics.per_image import FALSE_ALARM, MISSED_LESION, MetricRules, image_metrics


def _two_blocks() -> tuple[np.ndarray, np.ndarray]:
    """A 64 x 128 image with a 4 x 4 lesion at columns 8-11 and its prediction at columns 88-91.

    Every pixel of a 4 x 4 block but the 2 x 2 centre is boundary. From the predicted block's
    columns 88, 89, 90, 91 the nearest true boundary pixel lies in column 11, at 77, 78, 79, 80 px,
    with 4, 2, 2, 4 boundary pixels; the other direction mirrors this. Of the 24 pooled distances the
    top 4 (positions 20-23) are 80, so the 95th percentile (position 21.85) is 80 px.
    """
    truth = np.zeros((64, 128), bool)
    truth[8:12, 8:12] = True
    pred = np.zeros_like(truth)
    pred[8:12, 88:92] = True
    return pred, truth


def test_hd95_at_network_size_is_the_original_distance_times_the_letterbox_scale() -> None:
    pred, truth = _two_blocks()
    placement = placement_for(64, 128, 32, "letterbox")  # scale 1/4: each block becomes one pixel
    on_network = (place_mask(pred, placement), place_mask(truth, placement))
    assert [np.argwhere(m).tolist() for m in on_network] == [[[10, 22]], [[10, 2]]]  # 20 px apart
    original = image_metrics(pred, truth)
    network = image_metrics(pred, truth, hd95_masks=on_network)
    assert original["hd95"] == pytest.approx(80.0)
    assert network["hd95"] == pytest.approx(20.0) == original["hd95"] / 4
    # only HD95 moves: the overlap metrics stay at the original size
    assert {k: v for k, v in network.items() if k != "hd95"} == {k: v for k, v in original.items() if k != "hd95"}


def test_a_false_alarm_is_dropped_from_hd95_only_under_the_published_convention() -> None:
    normal = np.zeros((40, 30), bool)
    alarm = normal.copy()
    alarm[10:15, 10:15] = True
    default = image_metrics(alarm, normal)
    dropped = image_metrics(alarm, normal, MetricRules(hd95_empty="drop_false_alarms"))
    assert default["hd95"] == pytest.approx(50.0)  # the 40 x 30 image's diagonal
    assert math.isnan(dropped["hd95"])
    for scores in (default, dropped):  # still a failure everywhere else, and still counted
        assert scores["dice"] == 0.0 and scores["empty_case"] == FALSE_ALARM
    # a missed lesion keeps the diagonal, and a normal image predicted normal 0, in both conventions
    missed = image_metrics(normal, alarm, MetricRules(hd95_empty="drop_false_alarms"))
    assert missed["hd95"] == pytest.approx(50.0) and missed["empty_case"] == MISSED_LESION
    assert image_metrics(normal, normal, MetricRules(hd95_empty="drop_false_alarms"))["hd95"] == 0.0


class _Constant(torch.nn.Module):
    """Predicts lesion everywhere (logit +10) or nowhere (-10)."""

    def __init__(self, logit: float) -> None:
        super().__init__()
        self.logit = logit

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.full_like(image[:, :1], self.logit)


def _scores(manifest: Manifest, tmp_path, logit: float, **settings: object):
    split_path = tmp_path / "split.json"
    if not split_path.is_file():
        write_split(plan_split(manifest, SplitSettings(folds=2)), split_path)
    data = PreparedData(manifest, split_path, read_split(split_path, manifest), build_cache(manifest, 32,
                                                                                          cache_root=tmp_path))
    return score_test_set([_Constant(logit)], data, EvalConfig(**settings), Compute(torch.device("cpu")),
                          {"plain": PostProcessing()})


def test_final_scoring_applies_the_conventions(synthetic_manifest: Manifest, tmp_path) -> None:
    everywhere = _scores(synthetic_manifest, tmp_path, 10.0)
    sizes = synthetic_manifest.frame.set_index("case_id").loc[everywhere["case_id"], ["width", "height"]]
    diagonals = np.hypot(sizes["width"], sizes["height"]).to_numpy()  # each image's own, at its original size
    diagonal_32 = math.hypot(32, 32)  # the network's input square
    dropped = _scores(synthetic_manifest, tmp_path, 10.0, hd95_empty="drop_false_alarms")
    normal = (everywhere["label"] == "normal").to_numpy()
    assert normal.any() and not normal.all()
    assert everywhere.loc[normal, "hd95"].tolist() == pytest.approx(diagonals[normal].tolist())
    assert dropped.loc[normal, "hd95"].isna().all() and dropped.loc[~normal, "hd95"].notna().all()
    assert dropped.loc[~normal, "hd95"].tolist() == pytest.approx(everywhere.loc[~normal, "hd95"].tolist())
    assert (dropped["empty_case"] == everywhere["empty_case"]).all()

    nowhere = _scores(synthetic_manifest, tmp_path, -10.0)
    nowhere_network = _scores(synthetic_manifest, tmp_path, -10.0, hd95_space="network")
    assert nowhere.loc[~normal, "hd95"].tolist() == pytest.approx(diagonals[~normal].tolist())
    assert nowhere_network.loc[~normal, "hd95"].tolist() == pytest.approx([diagonal_32] * (~normal).sum())
    assert nowhere_network["dice"].tolist() == nowhere["dice"].tolist()


def test_final_scoring_measures_nsd_at_the_configured_tolerance(synthetic_manifest: Manifest, tmp_path) -> None:
    """Lesion everywhere: the image's border is the predicted contour, far from every lesion's; a
    tolerance as wide as the image reaches it (NSD 1), the default does not."""
    default = _scores(synthetic_manifest, tmp_path, 10.0)
    wide = _scores(synthetic_manifest, tmp_path, 10.0, nsd_tolerance=10_000.0)
    lesion = (default["label"] != "normal").to_numpy()
    assert (default["nsd_tolerance"] == 2.0).all() and (wide["nsd_tolerance"] == 10_000.0).all()
    assert (wide.loc[lesion, "nsd"] == 1.0).all() and (default.loc[lesion, "nsd"] < 1.0).all()
    assert (default.loc[~lesion, "nsd"] == 0.0).all()  # false alarms on normal images


def test_non_default_conventions_are_named_under_every_table() -> None:
    default = load_config(None)
    assert protocol_notes(default.split, default.model, default.eval, default.input) == []
    cfg = load_config(None, ["eval.hd95_space=network", "eval.hd95_empty=drop_false_alarms", "input.size=224"])
    notes = protocol_notes(cfg.split, cfg.model, cfg.eval, cfg.input)
    assert any("HD95 measured on the 224 px network input" in note for note in notes)
    assert any("false alarms on normal images are left out of the HD95 mean" in note for note in notes)
