"""audit.html: the summary, then one section per finding with its contact sheets embedded, so the
page opens from disk with no server and no files beside it. Tables and figures use the report's
HTML helpers."""

from __future__ import annotations

import html

from busbench.audit.findings import Audit
from busbench.audit.overlays import MARKS_PRECISION, detect_overlays
from busbench.audit.sheets import PER_SHEET, Tile, sheet_name, write_sheet
from busbench.data.cache import load_pair
from busbench.data.manifest import case_row
from busbench.layout.atomic import write_text
from busbench.log import counted
from busbench.report.page.html import STYLE, html_figure, html_table

AUDIT_HTML = "audit.html"
SHEETS_DIR = "sheets"
MAX_GROUPS = 200
MAX_FLAGGED = 50
SECTIONS = {"summary": "Summary", "duplicates": "Duplicate groups", "conflicts": "Label conflicts",
            "overlays": "Overlays: calipers, markers, text, Doppler", "masks": "Mask quality",
            "balance": "Split balance"}


class _Sheets:
    """Draws tiles of cases of one audit into PNGs under ``out/sheets``."""

    def __init__(self, audit: Audit) -> None:
        self.audit = audit
        self.rows = audit.manifest.frame.set_index("case_id", drop=False)

    def tile(self, case_id: str, caption: str, overlay: bool = False) -> Tile:
        row = case_row(self.rows, case_id)
        rgb, lesion = load_pair(self.audit.manifest, row, 3)
        marks = detect_overlays(rgb).overlay if overlay else None
        return Tile(rgb, lesion, caption, marks)

    def figures(self, name: str, tiles: list[Tile]) -> str:
        parts = []
        for start in range(0, len(tiles), PER_SHEET):
            path = self.audit.out / SHEETS_DIR / sheet_name(f"{name}-{start // PER_SHEET + 1}")
            parts.append(html_figure(write_sheet(tiles[start:start + PER_SHEET], path)))
        return "".join(parts)


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


def _duplicates(audit: Audit, sheets: _Sheets) -> list[str]:
    view = audit.duplicates
    parts = [_note(f"{view.groups['group'].nunique()} groups holding {view.linked_images} images with an exact or "
                   f"near copy ({len(view.groups)} images with the same-patient views joined to them); "
                   f"{view.patient_only_groups} further groups are one patient's views only and are not shown. "
                   "Each link is labelled with the measure that made it: identical pixels, or the pHash distance "
                   "in bits.")]
    for group, members in list(view.groups.groupby("group"))[:MAX_GROUPS]:
        parts.append(f"<h3>Group {group}</h3>")
        tiles = [sheets.tile(c, f"{c} ({lab})") for c, lab in zip(members["case_id"], members["label"])]
        parts.append(sheets.figures(f"group-{group}", tiles))
        links = view.links[view.links["group"] == group]
        parts.append("<ul>" + "".join(
            f"<li>{html.escape(a)} — {html.escape(b)}: {html.escape(m)} {v:g}</li>"
            for a, b, m, v in zip(links["case_a"], links["case_b"], links["measure"], links["value"])) + "</ul>")
    if view.groups["group"].nunique() > MAX_GROUPS:
        parts.append(_note(f"Only the first {MAX_GROUPS} groups are drawn; all are in duplicate_groups.csv."))
    return parts


def _conflicts(audit: Audit, sheets: _Sheets) -> list[str]:
    conflicts, masks = audit.duplicates.conflicts, audit.duplicates.mask_conflicts
    parts = [_note("Copies of one image under different labels; each thumbnail shows its own mask in green.")]
    if not masks.empty:
        parts += [_note(f"{counted(len(masks), 'pair')} of identical images with different masks "
                        "(mask_conflicts.csv):"),
                  html_table(masks)]
    if conflicts.empty:
        return parts + ["<p>No label conflict found.</p>"]
    parts.append(html_table(conflicts))
    for i, row in enumerate(conflicts.itertuples(index=False), start=1):
        case_a, case_b = str(row.case_a), str(row.case_b)
        tiles = [sheets.tile(case_a, f"{case_a} ({row.label_a})"), sheets.tile(case_b, f"{case_b} ({row.label_b})")]
        parts.append(f"<h3>{html.escape(case_a)} = {html.escape(case_b)} ({html.escape(str(row.measure))} "
                     f"{row.value:g})</h3>" + sheets.figures(f"conflict-{i}", tiles))
    return parts


def _overlays(audit: Audit, sheets: _Sheets) -> list[str]:
    ov = audit.overlays
    flagged = ov[ov["marks"] | ov["doppler"]].sort_values("touches_lesion", ascending=False, kind="stable")
    parts = [_note("Detected overlay pixels in magenta, lesion outline in green. Marks: at least 3 small blobs "
                   "over 100 grey levels brighter than their surroundings, or yellow graphics; Doppler: red, "
                   "orange or blue pixels. " + MARKS_PRECISION),
             html_table(flagged[["case_id", "label", "marks", "doppler", "touches_lesion"]].head(MAX_FLAGGED))]
    tiles = [sheets.tile(c, c, overlay=True) for c in flagged["case_id"].head(MAX_FLAGGED)]
    if len(flagged) > MAX_FLAGGED:
        parts.append(_note(f"The first {MAX_FLAGGED} of {len(flagged)} are shown; all are in overlays.csv."))
    return parts + [sheets.figures("overlays", tiles)]


def _masks(audit: Audit, sheets: _Sheets) -> list[str]:
    masks = audit.masks
    parts = []
    for column, title in (("touches_border", "Masks touching the border"), ("tiny", "Tiny lesions"),
                          ("multi_component", "Multi-component masks"), ("size_outlier", "Image size outliers"),
                          ("aspect_outlier", "Aspect-ratio outliers")):
        hit = masks[masks[column]]
        parts.append(f"<h3>{title}: {len(hit)}</h3>")
        parts.append(sheets.figures(column, [sheets.tile(c, c) for c in hit["case_id"].head(2 * PER_SHEET)]))
    return parts


def _balance(audit: Audit) -> list[str]:
    if not audit.balance:
        return ["<p>No split file beside the manifest; run `busbench split` to see its balance here.</p>"]
    parts = []
    for name, table in audit.balance.items():
        parts += [f"<h3>{html.escape(name)}</h3>", html_table(table, index=True)]
    return parts


def write_page(audit: Audit) -> None:
    """Draw the sheets and write ``audit.html`` into ``audit.out``."""
    sheets = _Sheets(audit)
    dataset = html.escape(audit.manifest.dataset)
    body = {"summary": [html_table(audit.summary)], "duplicates": _duplicates(audit, sheets),
            "conflicts": _conflicts(audit, sheets), "overlays": _overlays(audit, sheets),
            "masks": _masks(audit, sheets), "balance": _balance(audit)}
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>busbench audit: {dataset}</title>"
             f"<style>{STYLE}</style></head><body><h1>busbench audit: {dataset}</h1>",
             _note(f"{len(audit.manifest.frame)} images of {audit.manifest.path}.")]
    for key, title in SECTIONS.items():
        parts.append(f"<section id='{key}'><h2>{title}</h2>" + "".join(body[key]) + "</section>")
    parts.append("</body></html>")
    write_text("\n".join(parts), audit.out / AUDIT_HTML)
