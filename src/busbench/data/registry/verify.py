"""``busbench verify``: is a copy of a dataset the one a registry was made from? Every case of
both sides lands in exactly one class, by content (``busbench.data.content.matching``).

Cases are first paired by content (identical pixels, then thumbnails), whatever their names. A
pair is, in this order of precedence (the first that holds):

* ``changed``: the image matches but the mask does not (another mask hash at the registry's
  resolution, lesion boxes that disagree at another);
* ``renamed``: the content matches under another case id (resampled or not: the name wins);
* ``resampled``: the same name, the image matched only tolerantly (another resolution or encoding);
* ``exact``: the same name, image and mask pixels.

A case left unpaired is ``changed`` when the other side has a case of its name (same name, other
image), else ``missing`` (a registry case) or ``extra`` (a copy case). ``exact``, ``resampled``
and ``renamed`` cases get the registry's roles unchanged; the others do not.

Known quirks of circulating copies are recognised by the rules of ``QUIRKS`` and reported as notes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from busbench.data.content.matching import EXACT as EXACT_LEVEL
from busbench.data.content.matching import same_mask, thumbnail_correlation
from busbench.data.labels import LESION
from busbench.data.registry.classes import CHANGED, EXACT, EXTRA, MISSING, RENAMED, RESAMPLED
from busbench.data.registry.record import Registry, match_copy
from busbench.log import counted, listed

CLASSES = (EXACT, RESAMPLED, RENAMED, CHANGED, MISSING, EXTRA)  # the order they are printed in
AGREEING = (EXACT, RESAMPLED, RENAMED)  # the registry's roles apply to these unchanged
RESULT_COLUMNS = ["class", "registry_case_id", "copy_case_id", "detail", "correlation"]
_EXAMPLES = 3


@dataclass(frozen=True)
class Verification:
    """Every case's class (``RESULT_COLUMNS``, registry order then extra cases) and the quirks' notes."""

    cases: pd.DataFrame
    notes: list[str]

    def counts(self) -> dict[str, int]:
        """Cases per class, in ``CLASSES`` order, only classes that occur."""
        found = self.cases["class"].value_counts()
        return {name: int(found[name]) for name in CLASSES if name in found}

    @property
    def agrees(self) -> bool:
        """Whether the registry's split applies to the copy unchanged."""
        return bool(self.cases["class"].isin(AGREEING).all())


def _size(row: pd.Series) -> str:
    return f"{int(row['width'])}x{int(row['height'])}"


def _pair(reg: pd.Series, copy: pd.Series, level: str) -> tuple[str, str]:
    """Class and detail of a registry case and the copy case its content matched."""
    same_size = (int(reg["width"]), int(reg["height"])) == (int(copy["width"]), int(copy["height"]))
    image = "same pixels" if level == EXACT_LEVEL else (
        f"image at {_size(copy)} here, {_size(reg)} in the registry" if not same_size else "image re-encoded")
    if not same_mask(reg, copy):
        return CHANGED, (f"{image}, but the mask differs (lesion box {reg['lesion_box'] or 'empty'} in the registry, "
                         f"{copy['lesion_box'] or 'empty'} here)")
    if reg["case_id"] != copy["case_id"]:
        return RENAMED, f"content of registry case {reg['case_id']!r}; {image}"
    if level != EXACT_LEVEL:
        return RESAMPLED, image
    return EXACT, "same image and mask pixels"


def _correlation(a: pd.Series, b: pd.Series) -> float:
    return float(thumbnail_correlation(a.to_frame().T, b.to_frame().T)[0, 0])


def _classify(reg: pd.DataFrame, copy: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """One row per pair or unpaired case (see the module's docstring for the precedence)."""
    copy_of = dict(zip(matches["reference_id"], matches["query_id"]))
    level_of = dict(zip(matches["reference_id"], matches["level"]))
    corr_of = dict(zip(matches["reference_id"], matches["correlation"]))
    paired_copy = set(copy_of.values())
    copy_rows = {str(row["case_id"]): row for _, row in copy.iterrows()}
    rows: list[tuple[str, str, str, str, float]] = []
    for _, reg_row in reg.iterrows():
        reg_id = str(reg_row["case_id"])
        if reg_id in copy_of:
            cls, detail = _pair(reg_row, copy_rows[copy_of[reg_id]], level_of[reg_id])
            rows.append((cls, reg_id, copy_of[reg_id], detail, float(corr_of[reg_id])))
        elif reg_id in copy_rows and reg_id not in paired_copy:
            rows.append((CHANGED, reg_id, reg_id, "same name, another image", _correlation(reg_row, copy_rows[reg_id])))
        else:
            rows.append((MISSING, reg_id, "", "no case of the copy has its content", np.nan))
    unpaired = [cid for cid in copy_rows if cid not in paired_copy and not (cid in reg.index and cid not in copy_of)]
    if unpaired:
        nearest = thumbnail_correlation(copy.loc[unpaired].reset_index(drop=True), reg.reset_index(drop=True))
        for i, copy_id in enumerate(unpaired):
            best = int(nearest[i].argmax())
            closest = f"closest registry case {reg.index[best]!r}"
            if copy_id in reg.index:  # its registry namesake is paired with another copy case
                rows.append((CHANGED, "", copy_id, f"named like registry case {copy_id!r}, whose content is copy case "
                             f"{copy_of[copy_id]!r} here; this image is not in the registry ({closest})",
                             float(nearest[i, best])))
            else:
                rows.append((EXTRA, "", copy_id, f"not in the registry ({closest})", float(nearest[i, best])))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


# Quirk rules: each finds the cases a known quirk of circulating copies explains.
QuirkRule = Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], list[str]]


def _class_dropped(cases: pd.DataFrame, reg: pd.DataFrame, copy: pd.DataFrame) -> list[str]:
    """Labels whose registry cases are all missing, while the copy has none of that label."""
    missing = set(cases.loc[cases["class"] == MISSING, "registry_case_id"])
    return [f"'{label}' ({counted(len(ids), 'case')})" for label, ids in reg.groupby("label").groups.items()
            if set(ids) <= missing and label not in set(copy["label"])]


def _masks_merged(cases: pd.DataFrame, reg: pd.DataFrame, copy: pd.DataFrame) -> list[str]:
    """Cases with several mask files in the registry and one here, their union unchanged."""
    agreeing = cases[cases["class"].isin(AGREEING)]
    copy_masks = {cid: len(json.loads(paths)) for cid, paths in zip(copy["case_id"], copy["mask_paths"])}
    reg_masks = dict(zip(reg["case_id"], reg["masks"]))
    return [reg_id for reg_id, copy_id in zip(agreeing["registry_case_id"], agreeing["copy_case_id"])
            if int(reg_masks[reg_id]) > 1 and copy_masks[copy_id] == 1]


def _deduplicated(cases: pd.DataFrame, reg: pd.DataFrame, copy: pd.DataFrame) -> list[str]:
    """Missing cases whose pixels the copy has under another registry case (a known duplicate)."""
    kept = set(reg.loc[cases.loc[cases["class"].isin(AGREEING), "registry_case_id"], "pixel_sha256"])
    missing = cases.loc[cases["class"] == MISSING, "registry_case_id"]
    return [reg_id for reg_id in missing if reg.at[reg_id, "pixel_sha256"] in kept]


def _duplicated_files(cases: pd.DataFrame, reg: pd.DataFrame, copy: pd.DataFrame) -> list[str]:
    """Extra cases whose pixels are those of a case the copy already has."""
    paired = set(copy.loc[cases.loc[cases["class"].isin(AGREEING), "copy_case_id"], "pixel_sha256"])
    extra = cases.loc[cases["class"] == EXTRA, "copy_case_id"]
    return [copy_id for copy_id in extra if copy.at[copy_id, "pixel_sha256"] in paired]


def _relabelled(cases: pd.DataFrame, reg: pd.DataFrame, copy: pd.DataFrame) -> list[str]:
    """Matched cases under another label (a generic ``lesion`` of a plain folder is no other label)."""
    pairs = cases[cases["class"].isin((*AGREEING, CHANGED)) & (cases["registry_case_id"] != "")
                  & (cases["copy_case_id"] != "")]
    return [copy_id for reg_id, copy_id in zip(pairs["registry_case_id"], pairs["copy_case_id"])
            if copy.at[copy_id, "label"] not in (reg.at[reg_id, "label"], LESION)]


QUIRKS: tuple[tuple[str, QuirkRule, str], ...] = (
    ("class dropped", _class_dropped, "{examples} missing entirely. A circulating copy of BUSI drops 'normal'; "
                                      "the registry's test set holds such cases: download the full dataset"),
    ("masks merged", _masks_merged, "{count} with one mask file here, several in the registry ({examples}): the "
                                    "same union, not a mismatch"),
    ("de-duplicated", _deduplicated, "{count} missing with the pixels of a case you have ({examples}); restore "
                                     "them from the original download"),
    ("duplicated files", _duplicated_files, "{count} extra with the pixels of a case you have ({examples}); "
                                            "delete them"),
    ("relabelled", _relabelled, "{count} with another label here than in the registry ({examples}): per-class "
                                "tables will differ"),
)


def quirk_notes(cases: pd.DataFrame, reg: pd.DataFrame, copy: pd.DataFrame) -> list[str]:
    """The notes of the ``QUIRKS`` that explain some cases (frames indexed by case id)."""
    notes = []
    for name, rule, text in QUIRKS:
        found = rule(cases, reg, copy)
        if found:
            notes.append(f"{name}: " + text.format(count=counted(len(found), "case"),
                                                   examples=listed(found, _EXAMPLES)))
    return notes


def verify_copy(registry: Registry, copy: pd.DataFrame, source: str) -> Verification:
    """Classify every case of ``registry`` and of ``copy`` (a manifest frame read from ``source``)."""
    reg = registry.frame().set_index("case_id", drop=False)
    matches = match_copy(registry, copy, source)
    indexed = copy.set_index("case_id", drop=False)
    cases = _classify(reg, indexed, matches)
    return Verification(cases, quirk_notes(cases, reg, indexed))
