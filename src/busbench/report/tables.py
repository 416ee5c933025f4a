"""Publication tables: one per dataset, like the published BUS benchmark tables.

Model | Dice | IoU | HD95 | Precision | Recall (mean ± std over fold models) | Dice 95 % CI |
HD95 95 % CI | Params (M) | GFLOPs | MACs (G) @224 (published 'GFLOPs') | FPS, then the fold ensemble
rows. The best value of each column is marked (bold): highest for overlap metrics and FPS, lowest
for HD95, parameters and compute. A model with degenerate fold models (missing at least 90 % of the
lesion images) carries a visible mark after its name. Every table states the unit its CIs resample (``ci``). Written as
CSV (numbers), Markdown and LaTeX (booktabs).
"""

from __future__ import annotations

import pandas as pd

from busbench.evaluate.aggregate import (
    DEGENERATE_MISSED_SHARE,
    FOLD_MODELS,
    degenerate_mark,
    mean_std_text,
    metric_places,
    metric_title,
)
from busbench.markdown import markdown_table

METRIC_COLUMNS = ("dice", "iou", "hd95", "precision", "recall")  # titled without units, as published tables
LOWER_IS_BETTER = {"hd95", "params_m", "gflops", "macs_g_224"}
COST_COLUMNS = {"params_m": "Params (M)", "gflops": "GFLOPs", "macs_g_224": "MACs (G) @224 (published 'GFLOPs')",
                "fps": "FPS"}
PUBLISHED_NOTE = ("GFLOPs: 2 x multiply-adds at the run's input size; MACs (G) @224: multiply-adds at "
                  "1 x C x 224 x 224, what published BUS tables (thop) call GFLOPs")


def best_rows(table: pd.DataFrame, column: str) -> set[int]:
    values = table[f"{column}_mean"] if f"{column}_mean" in table else table[column]
    values = pd.to_numeric(values, errors="coerce")
    if values.notna().sum() == 0:
        return set()
    target = values.min() if column in LOWER_IS_BETTER else values.max()
    return set(values.index[values == target])


def _cell(row: pd.Series, column: str) -> str:
    return mean_std_text(row[f"{column}_mean"], row.get(f"{column}_std"), metric_places(column))


def _model_name(row: pd.Series) -> str:
    mark = degenerate_mark(row)
    name = f"{row['model']} {mark} degenerate" if mark else str(row["model"])
    return f"{name} †" if row.get("protocol") else name


def notes(table: pd.DataFrame) -> str:
    """What a reader needs beside the numbers: the CI unit, and what a degenerate mark means."""
    lines = [f"CI: {table['ci'].iloc[0]}.", PUBLISHED_NOTE + _other_sides(table) + "."]
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


def _other_sides(table: pd.DataFrame) -> str:
    """The models counted at another side than 224 px, because they cannot take it."""
    other = table[table["size_224"].notna() & (table["size_224"] != 224)] if "size_224" in table else table.iloc[:0]
    counted = sorted({f"{model} at {int(side)} px" for model, side in zip(other["model"], other["size_224"])})
    return f" ({', '.join(counted)}: the nearest side the model takes)" if counted else ""


def display_table(table: pd.DataFrame, bold: tuple[str, str]) -> pd.DataFrame:
    """Strings for a dataset table; best values wrapped in ``bold`` (prefix, suffix)."""
    out = pd.DataFrame({"Model": [_model_name(row) for _, row in table.iterrows()]})
    for column in METRIC_COLUMNS:
        best = best_rows(table, column)
        out[metric_title(column, unit=False)] = [bold[0] + _cell(r, column) + bold[1] if i in best else _cell(r, column)
                                                 for i, r in table.iterrows()]
    for column in ("dice", "hd95"):
        digits = metric_places(column)
        out[f"{metric_title(column, unit=False)} 95% CI"] = [
            f"[{r[f'{column}_ci_low']:.{digits}f}, {r[f'{column}_ci_high']:.{digits}f}]" for _, r in table.iterrows()
        ]
    sizes = table["size_224"] if "size_224" in table else pd.Series(224, index=table.index)
    for column, title in COST_COLUMNS.items():
        best = best_rows(table, column)
        values = []
        for i, value, size in zip(table.index, table[column], sizes):
            text = "–" if pd.isna(value) else (f"{value:.1f}" if column == "fps" else f"{value:.2f}")
            if column == "macs_g_224" and text != "–" and size != 224:
                text += f" @{int(size)}"
            values.append(bold[0] + text + bold[1] if i in best and text != "–" else text)
        out[title] = values
    return out


def to_markdown(table: pd.DataFrame) -> str:
    return markdown_table(display_table(table, ("**", "**"))) + "\n" + notes(table) + "\n"


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                          ("±", "$\\pm$"), ("–", "--"), ("—", "---"), ("≥", "$\\geq$"), ("⚠", "(!)")):
        text = text.replace(char, escaped)
    return text


def to_latex(table: pd.DataFrame, caption: str) -> str:
    start, end = "\x00B", "\x00E"  # placeholders that survive escaping
    shown = display_table(table, (start, end))
    header = " & ".join(_latex_escape(c) for c in shown.columns)
    lines = [
        "\\begin{table}[t]", "\\centering", f"\\caption{{{_latex_escape(caption + '. ' + notes(table))}}}",
        "\\begin{tabular}{l" + "c" * (len(shown.columns) - 1) + "}", "\\toprule", header + " \\\\", "\\midrule",
    ]
    for _, row in shown.iterrows():
        cells = [_latex_escape(str(v)).replace(start, "\\textbf{").replace(end, "}") for v in row]
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"
