"""`busbench audit`: read every image of a prepared dataset once, write the findings as CSVs and
one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.audit.duplicates_view import duplicate_view
from busbench.audit.findings import Audit
from busbench.audit.masks import geometry_outliers, lesion_findings
from busbench.audit.overlays import detect_overlays, touches_lesion
from busbench.audit.page import write_page
from busbench.console import console
from busbench.data.cache import load_pair
from busbench.data.manifest import Manifest, load_manifest
from busbench.data.split.split_file import read_split
from busbench.data.split.summary import split_summary
from busbench.layout.atomic import write_csv
from busbench.progress import progress

AUDIT_DIR = "audit"


def _scan(manifest: Manifest) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One pass over the images: overlay and lesion findings per case."""
    overlay_rows, mask_rows = [], []
    frame = manifest.frame
    for _, row in progress(frame.iterrows(), "auditing images", total=len(frame)):
        image, lesion = load_pair(manifest, row, 3)  # the image fitted to its mask, as `prepare` logged
        finding = detect_overlays(image)
        overlay_rows.append({"case_id": row["case_id"], "label": row["label"], "marks": finding.marks,
                             "mark_blobs": finding.mark_blobs, "yellow_pixels": finding.yellow_pixels,
                             "doppler": finding.doppler, "doppler_pixels": finding.doppler_pixels,
                             "touches_lesion": touches_lesion(finding, lesion)})
        mask_rows.append({"case_id": row["case_id"], "label": row["label"], **lesion_findings(lesion)})
    masks = geometry_outliers(frame).merge(pd.DataFrame(mask_rows), on="case_id")
    return pd.DataFrame(overlay_rows), masks[["case_id", "label"] + [c for c in masks if c not in ("case_id", "label")]]


def _balance(manifest: Manifest) -> dict[str, pd.DataFrame]:
    """split_summary of every split file beside the manifest, by file name."""
    return {path.name: split_summary(read_split(path, manifest), manifest)
            for path in sorted(manifest.path.parent.glob("split*.json"))}


def _write_csvs(audit: Audit) -> None:
    tables = {"summary.csv": audit.summary, "duplicate_groups.csv": audit.duplicates.groups,
              "duplicate_links.csv": audit.duplicates.links, "label_conflicts.csv": audit.duplicates.conflicts,
              "mask_conflicts.csv": audit.duplicates.mask_conflicts,
              "overlays.csv": audit.overlays, "masks.csv": audit.masks}
    for name, table in tables.items():
        write_csv(table, audit.out / name, float_format=None)
    for name, table in audit.balance.items():
        write_csv(table, audit.out / f"balance_{Path(name).stem}.csv", float_format=None, index=True)


def run_audit(data_dir: Path, out: Path | None = None) -> Audit:
    """Audit the manifest in ``data_dir``; writes CSVs and audit.html into ``out``."""
    manifest = load_manifest(data_dir)
    out = out or manifest.path.parent / AUDIT_DIR
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"finding duplicates among {len(manifest.frame)} images ...")
    duplicates = duplicate_view(manifest)
    console.print(f"reading {len(manifest.frame)} images and masks from {manifest.root} ...")
    overlays, masks = _scan(manifest)
    audit = Audit(manifest, out, duplicates, overlays, masks, _balance(manifest))
    _write_csvs(audit)
    console.print("drawing contact sheets ...")
    write_page(audit)
    return audit
