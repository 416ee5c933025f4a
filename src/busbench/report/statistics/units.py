"""What the report's statistics count: a test image's score (averaged over the fold models; the paired
tests and ranks take the lesion images only) and the independent units of a test set (the split's
groups: a patient with her images and their duplicates).

Bootstrap CIs draw whole units and the paired tests compare the models' per-unit means. Without a
``group`` column (older runs) the unit is the image, and every table says so.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from busbench.data.manifest import MANIFEST_CSV, names_patients
from busbench.data.run_data import run_data_folder
from busbench.report.collect import RunResults
from busbench.report.scored_sets import has_lesion
from busbench.report.statistics.intervals_and_tests import cluster_means, paired_comparisons


@dataclass(frozen=True)
class IndependentUnits:
    """The independent units of one test set: a cluster label per test image (index: case_id)."""

    clusters: pd.Series
    grouped: bool  # False: no group column in the per-image CSVs, every image is its own unit
    # False: the runs' manifests name no patient (BUSI), so a group is one image and its duplicates; None: not known
    patients: bool | None = None

    def description(self) -> str:
        images = len(self.clusters)
        if not self.grouped:
            return (f"95 % bootstrap over {images} images (no group column in the per-image CSVs: images "
                    "treated as independent)")
        if self.patients is False:
            return (f"95 % cluster bootstrap over {self.clusters.nunique()} duplicate groups ({images} images; "
                    "the dataset names no patients)")
        return f"95 % cluster bootstrap over {self.clusters.nunique()} patients/duplicate groups ({images} images)"

    def of(self, case_ids: pd.Index) -> IndependentUnits:
        """The units of some of the test images (the lesion images of the lesion columns)."""
        return IndependentUnits(self.clusters.loc[case_ids], self.grouped, self.patients)

    def paired_unit(self) -> str:
        return "per-group mean Dice" if self.grouped else "per-image Dice"

    def pairing(self) -> str:
        """What the paired tests pair, in words for a table's note."""
        if not self.grouped:
            return "image (no group column)"
        return f"{'duplicate' if self.patients is False else 'patient/duplicate'} group (the group's mean)"

    def paired_comparisons(self, scores: pd.DataFrame,
                           pairs: Sequence[tuple[Hashable, Hashable]] | None = None) -> pd.DataFrame:
        """The paired tests of ``scores``' models (``model_scores``) on their per-unit means: every
        pair, or ``pairs``."""
        return paired_comparisons(cluster_means(scores, self.clusters), pairs).assign(unit=self.paired_unit())


def independent_units(runs: list[RunResults]) -> IndependentUnits:
    """Images that any run's split puts in one group form one unit (the runs' splits agree as a
    rule; where they do not, the linked groups merge)."""
    units = units_of([run.per_image for run in runs])
    return replace(units, patients=_patients_named(runs))


def _patients_named(runs: list[RunResults]) -> bool | None:
    """Whether the manifests the runs were made on name patients; None where no manifest is at hand."""
    manifests = [run_data_folder(run.folder) / MANIFEST_CSV for run in runs]
    named = [names_patients(path) for path in manifests if path.is_file()]
    return any(named) if named else None


def units_of(frames: list[pd.DataFrame]) -> IndependentUnits:
    """``independent_units`` of per-image tables (``case_id``, ``group``): a bundle's entries have no run folder."""
    images = sorted(set().union(*(frame["case_id"] for frame in frames)))
    if not all("group" in frame for frame in frames):
        return IndependentUnits(pd.Series(range(len(images)), index=images), grouped=False)
    position = {case_id: i for i, case_id in enumerate(images)}
    links = pd.concat([frame[["case_id", "group"]].assign(run=i) for i, frame in enumerate(frames)])
    anchor = links.groupby(["run", "group"])["case_id"].transform("first")  # each image linked to its group's first
    graph = coo_matrix((np.ones(len(links)), (links["case_id"].map(position), anchor.map(position))),
                       shape=(len(images), len(images)))
    return IndependentUnits(pd.Series(connected_components(graph, directed=False)[1], index=images), grouped=True)


def image_scores(per_image: pd.DataFrame, metric: str) -> pd.Series:
    """Per test image, the metric averaged over the fold models (index: case_id)."""
    return per_image.groupby("case_id")[metric].mean()


def lesion_image_scores(per_image: pd.DataFrame, metric: str) -> pd.Series:
    """``image_scores`` of the lesion images only (ground truth not empty): what the paired tests,
    ranks and Dice figures compare, since a normal image's Dice is 1 or 0."""
    return image_scores(per_image[has_lesion(per_image)], metric)


def lesion_model_scores(runs: list[RunResults], metric: str = "dice") -> pd.DataFrame:
    """Per lesion test image (index) and model (columns: display titles), the metric averaged over the
    fold models."""
    return pd.DataFrame({run.title: lesion_image_scores(run.per_image, metric) for run in runs})


def seed_image_scores(per_image: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per training seed (rows) and test image (columns: case_id), the metric averaged over that seed's
    fold models; one row for a run of one seed (no ``seed`` column)."""
    if "seed" not in per_image:
        return image_scores(per_image, metric).to_frame().T
    return per_image.groupby(["seed", "case_id"])[metric].mean().unstack("case_id")


def seed_spread(per_image: pd.DataFrame, metric: str) -> float:
    """Standard deviation (ddof 1) over training seeds of the metric's mean; NaN with one seed."""
    if "seed" not in per_image or per_image["seed"].nunique() < 2:
        return float("nan")
    return float(per_image.groupby("seed")[metric].mean().std(ddof=1))

