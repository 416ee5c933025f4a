"""Publication tables, two per dataset and test set, as published BUS benchmark tables split them:

* accuracy (``display_table``): Model | Row | Dice | Dice 95 % CI | IoU | HD95 (px) | HD95 95 % CI |
  NSD@τpx | Precision | Recall, mean ± std over the fold models, then the fold ensemble rows (NSD's
  title names its tolerance τ; rows scored at different tolerances say theirs in the cell);
* cost (``cost_table``): Model | Row | forward passes | Params (M) | GFLOPs | MACs (G) @224 | images/s,
  of what each row runs (an ensemble of k models with v test-time views: k * v passes).

The best value of each column is marked (bold): highest for overlap metrics and throughput, lowest
for HD95, parameters and compute. A model with degenerate fold models (missing at least 90 % of the
lesion images) carries a visible mark after its name. The notes under each table say how every
figure was obtained. Written as CSV (the numbers of the same cells), Markdown and LaTeX (booktabs,
notes as a footnote block under the tabular, sized for one column of a one-column page at \\small).
"""

from __future__ import annotations

import pandas as pd

from busbench.evaluate.aggregate import (
    DEGENERATE_MISSED_SHARE,
    ENSEMBLE,
    ENSEMBLE_POSTPROCESSED,
    FOLD_MODELS,
    degenerate_mark,
    mean_std_text,
    metric_places,
    metric_title,
)
from busbench.markdown import markdown_table
from busbench.metrics.per_image import NSD_TOLERANCE

METRIC_COLUMNS = ("dice", "iou", "hd95", "nsd", "precision", "recall")
CI_COLUMNS = ("dice", "hd95")
SEED_SD_COLUMN = "dice"  # the metric whose seed-to-seed SD the table prints (the CSV has every metric's)
LOWER_IS_BETTER = {"hd95", "params_m", "gflops", "macs_g_224"}
COST_COLUMNS = {"forward_passes": "Passes", "params_m": "Params (M)", "gflops": "GFLOPs", "macs_g_224": "MACs @224 (G)",
                "fps": "Images/s"}
ROW_NAMES = {FOLD_MODELS: "fold models", ENSEMBLE: "ensemble", ENSEMBLE_POSTPROCESSED: "ens. + PP"}
ROW_NOTE = ("Rows: fold models, mean ± std over the k fold models; ensemble, the k fold models' probabilities "
            "averaged; ens. + PP, the ensemble with the post-processing chosen on out-of-fold predictions.")
PUBLISHED_NOTE = ("GFLOPs: 2 x multiply-adds per image at the run's input size (torch's FLOP counter); MACs @224: "
                  "multiply-adds at 1 x C x 224 x 224, what published BUS tables (thop) call GFLOPs")


def best_rows(table: pd.DataFrame, column: str) -> set[int]:
    values = table[f"{column}_mean"] if f"{column}_mean" in table else table[column]
    values = pd.to_numeric(values, errors="coerce")
    if values.notna().sum() == 0:
        return set()
    target = values.min() if column in LOWER_IS_BETTER else values.max()
    return set(values.index[values == target])


def _cell(row: pd.Series, column: str, tolerance_shown: bool = False) -> str:
    text = mean_std_text(row[f"{column}_mean"], row.get(f"{column}_std"), metric_places(column))
    return f"{text} @{row[NSD_TOLERANCE]:g}px" if tolerance_shown else text


def _title(table: pd.DataFrame, column: str) -> tuple[str, bool]:
    """A metric's column title, and whether its cells name their NSD tolerance (the rows were scored at several)."""
    if column != "nsd":
        return metric_title(column, unit=column == "hd95"), False
    tolerances = table[NSD_TOLERANCE].unique()
    return (metric_title(column, tolerance=float(tolerances[0])), False) if len(tolerances) == 1 else ("NSD", True)


def _model_names(table: pd.DataFrame) -> list[str]:
    """The model's name on its first row (with its marks), blank on its ensemble rows below."""
    names, previous = [], None
    for _, row in table.iterrows():
        mark = degenerate_mark(row)
        name = f"{row['model']} {mark} degenerate" if mark else str(row["model"])
        name = f"{name} †" if row.get("protocol") else name
        names.append("" if row["model"] == previous else name)
        previous = row["model"]
    return names


def _frame(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Model": _model_names(table), "Row": [ROW_NAMES.get(v, v) for v in table["variant"]]})


def display_table(table: pd.DataFrame, bold: tuple[str, str]) -> pd.DataFrame:
    """The accuracy table's strings; best values wrapped in ``bold`` (prefix, suffix)."""
    out = _frame(table)
    for column in METRIC_COLUMNS:
        best = best_rows(table, column)
        title, tolerance_shown = _title(table, column)
        out[title] = [bold[0] + _cell(r, column, tolerance_shown) + bold[1] if i in best
                      else _cell(r, column, tolerance_shown) for i, r in table.iterrows()]
        if column in CI_COLUMNS:
            digits = metric_places(column)
            out[f"{metric_title(column, unit=False)} 95 % CI"] = [
                f"[{low:.{digits}f}, {high:.{digits}f}]"
                for low, high in zip(table[f"{column}_ci_low"], table[f"{column}_ci_high"])]
        if column == SEED_SD_COLUMN and _several_seeds(table):
            out[f"{metric_title(column, unit=False)} seed SD"] = [
                "–" if pd.isna(sd) else f"{sd:.{metric_places(column)}f}" for sd in table[f"{column}_seed_sd"]]
            out["Seeds"] = [str(int(n)) for n in table["seeds"]]
    return out


def _several_seeds(table: pd.DataFrame) -> bool:
    return "seeds" in table and bool((table["seeds"] > 1).any())


def accuracy_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The accuracy table's cells as numbers (its CSV)."""
    columns = [f"{m}_{s}" for m in METRIC_COLUMNS for s in ("mean", "std")] + [NSD_TOLERANCE]
    columns += [f"{m}_ci_{s}" for m in CI_COLUMNS for s in ("low", "high")]
    columns += [f"{m}_seed_sd" for m in METRIC_COLUMNS if f"{m}_seed_sd" in table] + (["seeds"] if "seeds" in table
                                                                                     else [])
    return pd.concat([table[["model"]], table["variant"].map(lambda v: ROW_NAMES.get(v, v)).rename("row"),
                      table[columns]], axis=1)


def _cost_text(value: float, column: str, size_224: float) -> str:
    if pd.isna(value):
        return "–"
    if column == "forward_passes":
        return f"{int(value)}"
    text = f"{value:.1f}" if column == "fps" else f"{value:.2f}"
    return text + (f" @{int(size_224)}" if column == "macs_g_224" and size_224 != 224 else "")


def cost_table(table: pd.DataFrame, bold: tuple[str, str]) -> pd.DataFrame:
    """The cost table's strings: what each row runs per image."""
    out = _frame(table)
    for column, title in COST_COLUMNS.items():
        best = best_rows(table, column) if column != "forward_passes" else set()
        values, sizes = pd.to_numeric(table[column], errors="coerce"), pd.to_numeric(table["size_224"], errors="coerce")
        texts = [_cost_text(float(value), column, float(size)) for value, size in zip(values, sizes)]
        out[title] = [bold[0] + t + bold[1] if i in best and t != "–" else t for i, t in zip(table.index, texts)]
    return out


def cost_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The cost table's cells as numbers, and why a throughput is missing (its CSV)."""
    return pd.concat([table[["model"]], table["variant"].map(lambda v: ROW_NAMES.get(v, v)).rename("row"),
                      table[["networks", "views", *COST_COLUMNS, "fps_note"]]], axis=1)


def notes(table: pd.DataFrame) -> str:
    """The accuracy table's notes: rows, CI unit, HD95's unit, marks."""
    seeds = int(table["seeds"].max()) if "seeds" in table else 1
    ci = table["ci"].iloc[0] + (f" and {seeds} training seeds" if seeds > 1 else "")
    lines = [ROW_NOTE, f"CI: {ci}.",
             "HD95: 95th-percentile Hausdorff distance in pixels of the original image; best values in bold."]
    if seeds > 1:
        lines.append("Seeds: a row's figures average its training seeds (Seeds: how many); ± std is over all k x "
                     "seeds fold models; seed SD: the standard deviation over seeds of the row's mean Dice; the "
                     "paired tests compare per-image scores averaged over seeds.")
    if (table["degenerate_folds"] > 0).any():
        lines.append(f"⚠ k of n degenerate: k of the n fold models miss at least {DEGENERATE_MISSED_SHARE:.0%} of the "
                     "test set's lesion images: they predict (almost) nothing.")
    overrides = sorted({n for cell in table.get("protocol", pd.Series(dtype=str)).fillna("") for n in
                        str(cell).split(" | ") if n})
    lines += [f"† {n}." for n in overrides]
    if "origin" in table:  # code from outside busbench: which module and version, or source sha256
        runs = table[table["variant"] == FOLD_MODELS]
        lines += [f"{model}: {origin}." for model, origin in zip(runs["model"], runs["origin"].fillna("")) if origin]
    return " ".join(lines)


def cost_notes(table: pd.DataFrame) -> str:
    """How each cost figure was obtained, and why a throughput is missing."""
    lines = ["Per test image, of what the row runs: Passes = networks x test-time views (an ensemble of k fold "
             "models with v views runs k x v forward passes); Params: the networks held (k x one model for an "
             "ensemble); GFLOPs and MACs: one model's count x passes; Images/s: one model's measured batch-1 "
             "throughput / passes (scaled, not measured on the ensemble). Post-processing's cost is not counted.",
             PUBLISHED_NOTE + _other_sides(table) + "."]
    measured = sorted({str(n) for n, fps in zip(table["fps_note"], table["fps"]) if pd.notna(fps) and n})
    lines += [f"Throughput: {n}." for n in measured]
    missing = table[table["fps"].isna() & (table["variant"] == FOLD_MODELS)]
    lines += [f"{model}: {note}." for model, note in zip(missing["model"], missing["fps_note"]) if note]
    return " ".join(lines)


def _other_sides(table: pd.DataFrame) -> str:
    """The models counted at another side than 224 px, because they cannot take it."""
    other = table[table["size_224"].notna() & (table["size_224"] != 224)] if "size_224" in table else table.iloc[:0]
    counted = sorted({f"{model} at {int(side)} px" for model, side in zip(other["model"], other["size_224"])})
    return f" ({', '.join(counted)}: the nearest side the model takes)" if counted else ""


def to_markdown(shown: pd.DataFrame, note: str) -> str:
    return markdown_table(shown) + "\n" + note + "\n"


LATEX_CHARACTERS = str.maketrans({
    "\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\^{}", "±": "$\\pm$", "–": "--", "—": "---", "≥": "$\\geq$", "⚠": "(!)",
    "†": "$^\\dagger$", "×": "$\\times$", "·": "$\\cdot$"})


def latex_escape(text: str) -> str:
    return text.translate(LATEX_CHARACTERS)


def _latex_cell(value: object) -> str:
    """A cell in LaTeX: ``mean ± std`` with the std in small type (the tables must fit one column);
    the bold placeholders \x00B and \x00E as \textbf."""
    mean, _, std = str(value).partition(" ± ")
    text = latex_escape(mean) + (f"{{\\scriptsize\\,$\\pm$\\,{latex_escape(std)}}}" if std else "")
    return text.replace("\x00B", "\\textbf{").replace("\x00E", "}")


def to_latex(shown: pd.DataFrame, caption: str, note: str, label: str, below: dict[str, str] | None = None) -> str:
    """A booktabs table at \\small, one group per model (its name on a row of its own), notes in a
    footnote block under the tabular. ``below``: columns set on a second line under another column
    in small type (a CI under its mean), so that the table fits a one-column page."""
    below = below or {}
    note = "".join(f"Under {target}: its {source}. " for source, target in below.items()) + note
    columns = [c for c in shown.columns if c != "Model" and c not in below]
    header = " & ".join(latex_escape(c) for c in columns)
    lines = ["\\begin{table}[t]", "\\centering", "\\small", "\\setlength{\\tabcolsep}{3pt}",
             f"\\caption{{{latex_escape(caption)}}}", f"\\label{{tab:{label}}}",
             "\\begin{tabular}{l" + "r" * (len(columns) - 1) + "}", "\\toprule", header + " \\\\", "\\midrule"]
    for position, (_, row) in enumerate(shown.iterrows()):
        if "Model" in shown and row["Model"]:  # a new model: its name spans the table
            lines += ["\\addlinespace"] if position else []
            lines.append(f"\\multicolumn{{{len(columns)}}}{{l}}{{\\textit{{{_latex_cell(row['Model'])}}}}} \\\\")
        lines.append(" & ".join(_latex_cell(row[c]) for c in columns) + " \\\\")
        under = {target: source for source, target in below.items()}
        if under:
            lines.append(" & ".join(f"{{\\scriptsize {_latex_cell(row[under[c]])}}}" if c in under else ""
                                    for c in columns) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "",
              "\\smallskip", f"\\parbox{{\\linewidth}}{{\\footnotesize {latex_escape(note)}}}", "\\end{table}"]
    return "\n".join(lines) + "\n"
