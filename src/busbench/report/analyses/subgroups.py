"""Dice and HD95 by subgroup of the test set's lesion images: "lesion size and type effects" and
scanner differences, as BUS-Set (Thomas et al., Medical Physics 2023) evaluates them.

The subgroups (factors) of one test set, over its lesion images only (normal images have no lesion
to segment; image-level detection reports them):

* ``class``: the manifest label (benign, malignant);
* ``lesion size``: tertiles of the true lesion area in pixels at the original image size (the
  ``true_area`` column of the per-image scores; for older runs without it, the manifest's
  ``lesion_area_fraction`` x width x height), ranked over the test set's distinct lesion images, ties
  broken by case order, so the three parts differ by one image at most; each names its area range;
* each categorical manifest column that varies among them (``meta_device``, ``meta_birads``,
  ``meta_side`` of BUS-BRA): 2 to ``MAX_LEVELS`` values, not a fold assignment.

Per subgroup, model and row type: the images and independent units, the mean Dice and HD95 with the
report's cluster bootstrap CI. Per subgroup, between the fold-model rows: the report's paired test on
per-unit means, with Holm's correction over every subgroup and pair of one factor and metric (one
analysis).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from busbench.data.manifest import MANIFEST_CSV, META_PREFIX
from busbench.data.run_data import run_data_folder
from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.report.collect import RunTable
from busbench.report.scored_sets import has_lesion, image_means, recorded, scored_sets
from busbench.report.statistics.intervals_and_tests import bootstrap_ci, cluster_means, holm, paired_comparisons

MAX_LEVELS = 8
SIZE_NAMES = ("small", "medium", "large")
CLASS, SIZE = "class", "lesion size"
SUBGROUP_METRICS = ("dice", "hd95")
SUBGROUP_COLUMNS = ["test_set", "dataset", "factor", "subgroup", "model", "variant", "images", "units",
                    *(f"{m}_{part}" for m in SUBGROUP_METRICS for part in ("mean", "ci_low", "ci_high"))]


def _manifest(table: RunTable) -> pd.DataFrame | None:
    path = run_data_folder(table.runs[0].folder) / MANIFEST_CSV
    return pd.read_csv(path, dtype={"case_id": str}).set_index("case_id") if path.is_file() else None


def _true_areas(table: RunTable, lesion_ids: pd.Index, manifest: pd.DataFrame | None) -> pd.Series | None:
    for run in table.runs:
        if recorded(run.per_image, "true_area"):
            return image_means(run.per_image, "true_area").reindex(lesion_ids)
    if manifest is None or "lesion_area_fraction" not in manifest:
        return None
    rows = manifest.reindex(lesion_ids)
    return rows["lesion_area_fraction"] * rows["width"] * rows["height"]


def size_tertiles(areas: pd.Series) -> pd.Series:
    """Each image's tertile of ``areas`` (index: case_id), named with its area range in pixels, in
    the order small, medium, large."""
    ordered = areas.sort_index()
    parts = pd.qcut(ordered.rank(method="first"), 3, labels=list(SIZE_NAMES))
    names = {}
    for name in SIZE_NAMES:
        values = ordered[parts == name]
        names[name] = f"{name} ({values.min():.0f}-{values.max():.0f} px)" if len(values) else name
    return pd.Series(pd.Categorical(parts.astype(str).map(names), categories=[names[n] for n in SIZE_NAMES]),
                     index=ordered.index)


def subgroup_labels(table: RunTable) -> pd.DataFrame:
    """The subgroup of each lesion image of the test set (index: case_id) under every factor."""
    frames = [run.per_image[has_lesion(run.per_image)] for run in table.runs]
    lesions = pd.concat(frames).drop_duplicates("case_id").set_index("case_id").sort_index()
    manifest = _manifest(table)
    labels = pd.DataFrame({CLASS: lesions["label"].astype(str)}, index=lesions.index)
    areas = _true_areas(table, lesions.index, manifest)
    if areas is not None and areas.notna().all() and len(areas) >= 3:
        labels[SIZE] = size_tertiles(areas)
    if manifest is not None:
        rows = manifest.reindex(lesions.index)
        for column in rows.columns:
            name = column.removeprefix(META_PREFIX)
            if not column.startswith(META_PREFIX) or "fold" in name or name.startswith("original_"):
                continue
            values = rows[column].dropna()
            if 2 <= values.nunique() <= MAX_LEVELS:
                labels[name] = rows[column].map(lambda v: "not given" if pd.isna(v) else str(v))
    return labels


def _mean_ci(values: pd.Series, clusters: pd.Series, metric: str) -> dict[str, float]:
    """The mean of per-image ``values`` and its cluster bootstrap CI (NaN without values)."""
    if values.empty:
        return {f"{metric}_mean": np.nan, f"{metric}_ci_low": np.nan, f"{metric}_ci_high": np.nan}
    low, high = bootstrap_ci(values.to_numpy(), clusters.reindex(values.index).to_numpy())
    return {f"{metric}_mean": float(values.mean()), f"{metric}_ci_low": low, f"{metric}_ci_high": high}


def subgroup_table(table: RunTable, clusters: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``subgroups.csv`` rows (per factor, subgroup, model and row type) and the paired tests."""
    labels = subgroup_labels(table)
    rows, tests = [], []
    for factor in labels.columns:
        family = []
        for subgroup, members in labels.groupby(factor, observed=True).groups.items():
            ids = pd.Index(members)
            units = clusters.reindex(ids)
            for run in table.runs:
                for scored in scored_sets(run):
                    scored_ids = ids.intersection(scored.per_image["case_id"])
                    row: dict[str, object] = {
                        "test_set": table.title, "dataset": run.dataset_title, "factor": factor, "subgroup": subgroup,
                        "model": scored.model, "variant": scored.variant, "images": len(scored_ids),
                        "units": int(units.reindex(scored_ids).nunique())}
                    for metric in SUBGROUP_METRICS:
                        row.update(_mean_ci(image_means(scored.per_image, metric).reindex(scored_ids).dropna(),
                                            clusters, metric))
                    rows.append(row)
            for metric in SUBGROUP_METRICS:
                scores = pd.DataFrame({run.title: image_means(run.per_image, metric).reindex(ids)
                                       for run in table.runs})
                if scores.shape[1] < 2:
                    continue
                compared = paired_comparisons(cluster_means(scores, clusters))
                family.append(compared.assign(test_set=table.title, factor=factor, subgroup=str(subgroup),
                                              metric=metric, variant=FOLD_MODELS))
        if family:
            joined = pd.concat(family, ignore_index=True)
            for metric in SUBGROUP_METRICS:  # one analysis: a factor and a metric
                chosen = joined["metric"] == metric
                joined.loc[chosen, "p_holm"] = holm(joined.loc[chosen, "p_value"].tolist())
            tests.append(joined)
    columns = ["test_set", "factor", "subgroup", "metric", "variant", "model_a", "model_b", "units",
               "median_difference", "rank_biserial", "p_value", "p_holm"]
    comparisons = pd.concat(tests, ignore_index=True)[columns] if tests else pd.DataFrame(columns=columns)
    return pd.DataFrame(rows, columns=SUBGROUP_COLUMNS), comparisons
