"""The false-alarm finding: how often each model calls a normal image abnormal (any predicted lesion
pixel, as ``scored_sets.image_detection`` counts it for the main table and detection.csv), with a 95 %
cluster-bootstrap CI, shown right below each accuracy table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from busbench.report.collect import RunResults
from busbench.report.number_format import share_text
from busbench.report.scored_sets import image_detection, scored_sets
from busbench.report.statistics.intervals_and_tests import bootstrap_ci
from busbench.report.tables.publication import ROW_NAMES

FALSE_ALARM_NOTE = ("Share of the normal test images on which the row predicts any lesion pixel (a fold-model row: "
                    "the mean over images of the share of fold models that do), with its 95 % CI.")


def false_alarms(runs: list[RunResults], clusters: pd.Series) -> pd.DataFrame:
    """Per model and row type, the share of normal test images with any predicted lesion, with its
    95 % cluster-bootstrap CI (a fold-model row: each image's share of fold models that flag it)."""
    rows = []
    for run in runs:
        for scored in scored_sets(run):
            lesion, detected = image_detection(scored.per_image)
            flagged = detected[~lesion]
            low, high = (bootstrap_ci(flagged.to_numpy(), clusters.reindex(flagged.index).to_numpy())
                         if len(flagged) else (np.nan, np.nan))
            rows.append({"model": run.title, "row": ROW_NAMES.get(scored.variant, scored.variant),
                         "normal_images": len(flagged), "false_alarm_rate": flagged.mean() if len(flagged) else np.nan,
                         "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def false_alarm_display(frame: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame({"Model": [m if m != p else "" for m, p in zip(frame["model"], frame["model"].shift())],
                          "Row": frame["row"], "Normal images": frame["normal_images"]})
    shown["False alarms"] = [f"{share_text(r)} [{share_text(lo)}, {share_text(hi)}]" if pd.notna(r)
                             else "n/a (no normal test images)"
                             for r, lo, hi in zip(frame["false_alarm_rate"], frame["ci_low"], frame["ci_high"])]
    return shown
