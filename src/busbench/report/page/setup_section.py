"""The setup a paper states beside its numbers, read from the run folders alone: per dataset the
images per class and part, the split protocol and its checksums; per model the input, training
recipe, time budget and why its folds stopped, test-time views, post-processing chosen, seeds and
wall time; the software and machine.

It is also the legend of the report: the run folders' keys (``busi-6945e458``, ``unet_w8``) and
checksums appear here once, beside the display names every table and figure uses. Written as
``setup.md`` and ``setup.tex`` (``write_setup``) and shown on the page.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from busbench.augment import PRESETS
from busbench.data.manifest import load_manifest
from busbench.data.run_data import run_data_folder, run_split
from busbench.data.split.record import load_split
from busbench.errors import BusbenchError
from busbench.evaluate.postprocess import PostProcessing
from busbench.layout.atomic import write_text
from busbench.layout.folders import CellFolder
from busbench.markdown import markdown_table
from busbench.records import read_done, read_environment
from busbench.report.collect import RunResults, RunTable, split_description
from busbench.report.names import dataset_title
from busbench.report.tables.latex import latex_escape

SELECTED_BY = {"lesion_dice": "validation lesion Dice", "image_dice": "validation Dice (all images)",
               "image_iou": "validation IoU (all images)", "loss": "validation loss"}
ARCHITECTURES = {"", "x86_64", "amd64", "aarch64", "arm64", "i386", "i686", "armv7l", "ppc64le", "s390x"}
LEGEND_ONLY = ("Key", "Model arguments", "Test set sha256", "Split file", "Manifest sha256", "Commit",
               "Post-processing")  # setup.md and the page (the legend); setup.tex leaves them out

CHECKSUM_CHARS = 12
LABELS = ("benign", "malignant", "normal")


def _counts(labels: pd.Series) -> str:
    counts = labels.value_counts()
    known = [f"{counts.get(label, 0)} {label}" for label in LABELS if label in counts or label != "normal"]
    other = [f"{n} {label}" for label, n in counts.items() if label not in LABELS]
    return f"{len(labels)} ({', '.join(known + other)})"


def _development_labels(run: RunResults) -> pd.Series | None:
    """The development images' labels from the split file and manifest the run used, when the
    results folder holds its data folder."""
    data_dir, split_file = run_data_folder(run.folder), read_environment(run.path).split_file
    if not split_file or not (data_dir / split_file).is_file() or not (data_dir / "manifest.csv").is_file():
        return None
    development = load_split(data_dir / split_file).development()
    labels = load_manifest(data_dir).frame.set_index("case_id")["label"]
    return labels.reindex(sorted(development)).dropna()


def dataset_setup(tables: list[RunTable]) -> pd.DataFrame:
    """One row per table: its dataset, the images per class and part, the split and its checksums."""
    rows = []
    for table in tables:
        run = table.runs[0]
        environment = read_environment(run.path)
        test = run.per_image.drop_duplicates("case_id")["label"]
        development = _development_labels(run)
        protocol = run.split_settings.get("protocol", "grouped")
        # the split file's folds (a registry's, whatever split.folds says), whether or not all were trained
        split = run_split(run.folder)
        folds = split.folds if split is not None else run.split_settings.get("folds")
        rows.append({
            "Dataset": table.title, "Key": run.dataset,
            "Development images": _counts(development) if development is not None else "data folder not in results",
            "Test images": _counts(test),
            "Split": f"{protocol}, {split_description(run)}, {folds}-fold cross-validation",
            "Test set sha256": run.test_set[:CHECKSUM_CHARS] + f" (from {run.test_set_source})",
            "Split file": f"{environment.split_file or '–'}, sha256 "
                          f"{(environment.split_sha256 or '–')[:CHECKSUM_CHARS]}",
            "Manifest sha256": (environment.manifest_sha256 or "–")[:CHECKSUM_CHARS],
        })
    return pd.DataFrame(rows)


def _postprocessing(run: RunResults) -> str:
    path = run.folder.postprocessing_json
    if not path.is_file():
        return "not chosen (eval.postprocess off or no ensemble)"
    chosen = PostProcessing(**json.loads(path.read_text())["postprocessing"]).describe()
    return f"seed {run.seeds[0]}: {chosen} (each seed chooses its own)" if len(run.seeds) > 1 else chosen


def _precision(run: RunResults) -> str:
    """What the run computed in (recorded since the CPU's bf16 is checked), beside the setting: each fold
    model's own where its ``done.json`` records it (folds resumed on another kind of GPU may differ), with
    how many fold models trained in each where they differ."""
    setting = run.config.train.amp if run.config else "?"
    folds = Counter(str(fold["precision"]) for path in run.seed_paths or [run.path] for fold in _trained_folds(path)
                    if fold["precision"])
    if len(folds) > 1:
        recorded = ", ".join(f"{name} ({n} fold model{'s' * (n != 1)})" for name, n in sorted(folds.items()))
    else:
        recorded = next(iter(folds), "")
    return f"{recorded} (train.amp={setting})" if recorded else setting


def _trained_folds(path: Path) -> list[dict[str, object]]:
    """What trained each fold model of the cell at ``path`` that the tables score (its ``test_metrics.csv``):
    its ``done.json``'s record over the cell's ``environment.json``, whose fields alone stand for folds of
    older versions and a fold whose job ended before ``done.json``; the cell's alone where it has no fold
    folders (an outside method's scores)."""
    cell = read_environment(path)
    recorded: dict[str, object] = {**cell.model_dump(), "torch": (cell.libraries or {}).get("torch")}
    folders = CellFolder(path).folds()
    if not folders:
        return [recorded]
    return [{**recorded, **((read_done(fold.path, FIX).environment or {}) if fold.done else {})}
            for fold in folders if fold.test_metrics_csv.is_file()]


def _epochs_and_seconds(run: RunResults) -> tuple[str, float]:
    if not run.logs:
        return "–", float("nan")
    epochs = [len(log) for log in run.logs.values()]
    seconds = sum(float(log["seconds"].sum()) for log in run.logs.values() if "seconds" in log)
    return f"{sum(epochs) / len(epochs):.1f} of {run.config.train.epochs if run.config else '?'}", seconds


def _fold_models(run: RunResults) -> str:
    """The fold models trained (every seed's), of those the split has: ``1 of 5`` when a time budget
    left the others untrained (``benchmarks/gpu_table.sh``)."""
    trained, split = run.per_image["fold"].nunique(), run_split(run.folder)
    return f"{trained} of {split.folds * max(1, len(run.seeds))}" if split is not None else str(trained)


FIX = "run `busbench run` with the run's config again to rewrite it"  # a damaged done.json


def _budget(run: RunResults) -> str:
    minutes = run.config.train.max_minutes if run.config else None
    return "none" if minutes is None else f"{minutes:g} min per fold model"


def _stop_reasons(run: RunResults) -> str:
    """How many fold models (every seed's) stopped for each reason their ``done.json`` records:
    ``budget 4, patience 1``; folds of versions before the record count as ``not recorded``."""
    reasons = Counter(read_done(fold.path, FIX).stop_reason or "not recorded"
                      for path in run.seed_paths or [run.path] for fold in CellFolder(path).folds() if fold.done)
    return ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items())) or "–"


def augmentation_text(preset: str) -> str:
    """A preset's transforms in order with their probabilities: "HorizontalFlip p=0.5, Affine p=0.5"."""
    def describe(step: object) -> str:
        inner = getattr(step, "transforms", None)
        name = type(step).__name__
        parts = f" [{', '.join(describe(t) for t in inner)}]" if inner else ""
        return f"{name}{parts} p={getattr(step, 'p', 1.0):g}"
    try:
        steps = PRESETS.get(preset)()
    except BusbenchError:  # a preset no longer registered (a plugin uninstalled): its name as recorded
        return preset
    return f"{preset}: " + (", ".join(describe(step) for step in steps) or "no transforms")


def _readable_steps(text: str) -> str:
    """Post-processing as words: "fill_holes=True, min_area_fraction=0.01" -> "fill holes, min area fraction 0.01"."""
    return text.replace("=True", "").replace("=", " ").replace("_", " ")


def _cross_sets(run: RunResults) -> str:
    others = run.config.eval.cross_datasets if run.config is not None else []
    return ", ".join(dataset_title(other) for other in others) or "none"


def model_setup(tables: list[RunTable]) -> pd.DataFrame:
    """One row per (table, model): how it was trained and evaluated, and what its name stands for."""
    rows = []
    for table in tables:
        for run in table.runs:
            if run.config is None:
                rows.append({"Model": run.title, "Dataset": table.title, "Key": run.model,
                             "Model arguments": "outside method: predictions scored by `busbench score`"})
                continue
            c = run.config
            epochs, seconds = _epochs_and_seconds(run)
            warmup = f", warm-up {c.schedule.warmup_epochs} epochs" if c.schedule.warmup_epochs else ""
            rows.append({  # every value as shown
                "Model": run.title, "Dataset": table.title, "Key": run.model, "Model arguments": c.model.describe(),
                "Input": f"{c.input.size} px, {c.input.channels} ch, {c.input.resize}",
                "Fold models": _fold_models(run), "Epochs run (mean)": epochs, "Time budget": _budget(run),
                "Stopped by (fold models)": _stop_reasons(run), "Batch": str(c.train.batch_size),
                "Optimiser": f"{c.optimizer.name}, lr {c.optimizer.lr:g}, wd {c.optimizer.weight_decay:g}",
                "Schedule": c.schedule.name + warmup, "Loss": c.loss.name.replace("_", " "),
                "Augmentation": augmentation_text(c.train.augmentation),
                "Selected by": SELECTED_BY.get(c.train.select_metric, c.train.select_metric),
                "Early stopping": f"patience {c.train.patience} epochs" if c.train.patience else "off",
                "Precision": _precision(run), "TTA views": ", ".join(["plain", *c.eval.tta]),
                "Post-processing": _readable_steps(_postprocessing(run)),
                "Cross-dataset test sets": _cross_sets(run),
                "Seeds": f"train {', '.join(map(str, run.seeds or [c.train.seed]))}, split {c.split.seed}",
                "Training time (min, all folds and seeds)": f"{seconds / 60:.1f}" if seconds == seconds else "–",
            })
    return pd.DataFrame(rows)


def _processor(recorded: str | None) -> str:
    """The CPU's name; a run that recorded only the architecture (before busbench read the name) says so."""
    if (recorded or "").lower() in ARCHITECTURES:
        return f"not recorded ({recorded})" if recorded else "not recorded"
    return str(recorded)


SOFTWARE_COLUMNS = ["Device", "Processor", "Threads", "busbench", "Commit", "torch", "Python"]


def software_setup(runs: list[RunResults]) -> pd.DataFrame:
    """The versions and machines that trained the fold models (one row per distinct combination, with how
    many of the scored fold models it trained; ``_trained_folds``), each cell once however many tables show
    it (a pooled cell's)."""
    cells = dict.fromkeys(path for run in runs for path in run.seed_paths or [run.path])
    rows = [{"Device": fold["cuda"] or fold["device"] or "–",
             "Processor": _processor(str(fold["processor"]) if fold["processor"] else None),
             "Threads": fold["torch_threads"] or "–", "busbench": fold["busbench"] or "–",
             "Commit": str(fold["git_commit"] or "–")[:CHECKSUM_CHARS], "torch": fold["torch"] or "–",
             "Python": fold["python"] or "–"} for path in cells for fold in _trained_folds(path)]
    frame = pd.DataFrame(rows, columns=SOFTWARE_COLUMNS).astype(str)
    return frame.groupby(SOFTWARE_COLUMNS, sort=False).size().rename("Fold models").reset_index()


def setup_tables(tables: list[RunTable], runs: list[RunResults]) -> dict[str, pd.DataFrame]:
    """The setup section's tables by heading, as the page and ``write_setup`` show them."""
    return {"Datasets and splits": dataset_setup(tables), "Models and training": model_setup(tables),
            "Software and machine": software_setup(runs)}


def _fields(row: pd.Series, columns: list[str]) -> str:
    """``column: value; ...`` of the columns that hold a value (an unrecorded "–" is left out)."""
    return "; ".join(f"{latex_escape(c)}: {latex_escape(str(row[c]))}" for c in columns if row[c] != "–")


def setup_latex(setup: dict[str, pd.DataFrame]) -> str:
    """setup.tex, one page at most however many models: per heading, what every row shares said once, then
    one line per row (by its first column, the name) with what differs; keys, checksums, model arguments
    and the post-processing chosen stay in setup.md (``LEGEND_ONLY``)."""
    latex = ["\\begin{footnotesize}\\sloppy",
             "\\noindent\\textbf{Setup.} Keys, checksums, model arguments and the post-processing each model "
             "chose: setup.md and the report page."]
    for heading, frame in setup.items():
        shown = frame.drop(columns=[c for c in LEGEND_ONLY if c in frame]).fillna("–").astype(str)
        if shown.empty:
            continue
        if len(shown) == 1:
            latex.append(f"\\par\\smallskip\\noindent\\textbf{{{latex_escape(heading)}.}} "
                         f"{_fields(shown.iloc[0], list(shown.columns))}.")
            continue
        shared = [c for c in shown.columns[1:] if shown[c].nunique() == 1]
        differs = [c for c in shown.columns[1:] if c not in shared]
        latex.append(f"\\par\\smallskip\\noindent\\textbf{{{latex_escape(heading)}.}} "
                     + (f"All: {_fields(shown.iloc[0], shared)}." if shared else ""))
        latex += [f"\\par\\noindent {latex_escape(row.iloc[0])}: {_fields(row, differs)}."
                  for _, row in shown.iterrows()]
    latex.append("\\end{footnotesize}")
    return "\n".join(latex) + "\n"


def write_setup(setup: dict[str, pd.DataFrame], out: Path) -> None:
    """The setup section (and legend of keys and checksums) as ``out``/setup.md and setup.tex."""
    markdown = ["# Setup\n"]
    for heading, frame in setup.items():
        markdown += [f"## {heading}\n", markdown_table(frame.fillna("–"))]
    out.mkdir(parents=True, exist_ok=True)
    write_text("\n".join(markdown), out / "setup.md")
    write_text(setup_latex(setup), out / "setup.tex")
