"""The `busbench` command line: one command per step of the data flow.

Errors the user can fix (``BusbenchError``) are printed as one message naming the file or setting
and the fix, with exit code 2 and no traceback.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
import yaml

from busbench import interrupt
from busbench.config import ExperimentConfig, apply_overrides, load_config, validate_config
from busbench.console import console, err_console, print_frame
from busbench.data.adapters import ADAPTERS
from busbench.data.cache import build_cache
from busbench.data.export import export_test_images, load_split_data
from busbench.data.export_nnunet import export_nnunet
from busbench.data.geometry import RESIZE_MODES
from busbench.data.manifest import load_manifest
from busbench.data.prepare import PROBLEMS_CSV, SHOWN_PROBLEMS, PrepareResult, prepare_dataset
from busbench.data.split import large_group_warnings, plan_split, read_user_links, split_file_name, write_split
from busbench.data.split_summary import groups_across_parts, split_summary
from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import formatted
from busbench.evaluate.inference import TTA_VIEWS
from busbench.evaluate.predict import PREDICTIONS_CSV, collect_inputs, predict_images
from busbench.evaluate.score import ScoreOptions, score_method
from busbench.log import last_saved, progress_to_stderr, setup_logging
from busbench.models import available_models, build_model, count_parameters, resolve_model
from busbench.models.plugins import entry_point_names
from busbench.models.profile import profile_models
from busbench.pipeline import key_legend, plan_jobs, run_experiment
from busbench.report.markdown import markdown_table
from busbench.report.tables import display_table
from busbench.report.tables import notes as table_notes
from busbench.train.device import resolve_device

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Fair, reproducible benchmarking of breast-ultrasound segmentation models.")

INTERRUPTED = 130


@app.callback()
def options(
    quiet: Annotated[bool, typer.Option("--quiet", help="Print warnings and results only, no progress lines.")] = False,
    log_file: Annotated[
        Optional[Path], typer.Option("--log-file", help="Also write every progress line to this file.")
    ] = None,
) -> None:
    """Fair, reproducible benchmarking of breast-ultrasound segmentation models."""
    setup_logging(quiet, log_file)


SHIPPED_CONFIGS = Path(__file__).parent / "configs"
# How job lines call busbench: a bare `busbench` is on PATH only inside the activated environment.
BUSBENCH = f"{shlex.quote(sys.executable)} -m busbench"


def _parse_options(pairs: list[str]) -> dict[str, object]:
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BusbenchError(f"-o {pair!r}: expected KEY=VALUE, e.g. -o mask_suffix=_mask")
        options[key.strip()] = yaml.safe_load(value) if value else ""
    return options


def _report_prepare(result: PrepareResult, out: Path) -> None:
    counts = result.frame["label"].value_counts().rename("images").to_frame()
    counts.loc["total"] = len(result.frame)
    print_frame(counts, f"Manifest: {result.manifest_path}")
    problems = result.log.problems
    if not problems:
        console.print("No file was dropped or fixed.")
        return
    summary = pd.DataFrame(
        [(action, reason, n) for (action, reason), n in sorted(result.log.counts().items())],
        columns=["action", "reason", "files"],
    )
    print_frame(summary, "Dropped or fixed", index=False)
    for problem in problems[:SHOWN_PROBLEMS]:
        console.print(f"  {problem.action}: {problem.file}: {problem.reason}", markup=False, highlight=False)
    console.print(f"All {len(problems)} problems with their files: {out / PROBLEMS_CSV}")


@app.command()
def prepare(
    dataset: Annotated[str, typer.Argument(help=f"Dataset adapter: {', '.join(sorted(ADAPTERS))}.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for manifest.csv (outside the dataset).")],
    root: Annotated[Optional[Path], typer.Option("--root", help="The dataset folder.")] = None,
    option: Annotated[list[str], typer.Option("-o", "--option", help="Adapter option KEY=VALUE.")] = [],  # noqa: B006
) -> None:
    """Read a public dataset in its authors' layout, or your own folder (`folder`), and write its manifest.

    Your own folder pairs images and masks by stem, by templates (-o image=images/{id}.png
    -o mask=masks/mask_{id}.png), by regexes with a group (?P<id>...), or by a CSV (-o pairs_csv=list.csv);
    -o name=NAME names it in tables. A failed prepare still writes prepare_problems.csv.
    """
    if root is None:
        if dataset != "synthetic":
            raise BusbenchError(f"--root is required for dataset {dataset!r}: the folder the dataset was unpacked into")
        root = out / "raw"
    if not root.is_dir() and dataset != "synthetic":
        raise BusbenchError(f"--root {root}: no such folder")
    result = prepare_dataset(dataset, root, out, _parse_options(option))
    _report_prepare(result, out)


@app.command()
def split(
    manifest: Annotated[Path, typer.Argument(help="manifest.csv or its folder.")],
    out: Annotated[
        Optional[Path], typer.Option(help="Split file (default: beside the manifest, named by its settings).")
    ] = None,
    test_size: Annotated[float, typer.Option(help="Share of images held out for the final test.")] = 0.2,
    folds: Annotated[int, typer.Option(help="Cross-validation folds of the rest.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the split.")] = 42,
    official: Annotated[bool, typer.Option(help="Use the dataset's own partition (BUS-BRA 5-fold-cv.csv).")] = False,
    official_test_fold: Annotated[int, typer.Option(help="With --official: the official fold held out as test.")] = 1,
    links_file: Annotated[
        Optional[Path], typer.Option(help="CSV of case_a, case_b, relation (must-link or cannot-link).")
    ] = None,
    set_: Annotated[
        list[str], typer.Option("--set", help="Another split setting, e.g. near_duplicate_distance=8.")
    ] = [],  # noqa: B006
    force: Annotated[bool, typer.Option(help="Replace an existing, different split of the same settings.")] = False,
) -> None:
    """Freeze the held-out test set and the cross-validation folds."""
    loaded = load_manifest(manifest)
    raw = {"test_size": test_size, "folds": folds, "seed": seed, "official": official,
           "official_test_fold": official_test_fold, "links_file": links_file}
    cfg = validate_config({"split": apply_overrides(raw, set_)}, "busbench split options").split
    settings = cfg.settings()
    document = plan_split(loaded, settings)
    path = out or loaded.path.parent / split_file_name(settings, read_user_links(settings.links_file, loaded))
    status = write_split(document, path, force)
    print_frame(split_summary(document, loaded), f"Split {path} ({status})")
    console.print(f"test set sha256 {document['test_set_sha256']}; manifest sha256 {loaded.sha256}")
    groups = pd.DataFrame(document["cases"]).groupby("group").size()
    console.print(f"{document['duplicate_images']} images linked as exact or near duplicates; "
                  f"{len(groups)} groups of images (same patient or duplicates), the largest of {groups.max()}.")
    straddling = groups_across_parts(document)
    if straddling:
        err_console.print(f"warning: the official partition puts {straddling} patient/duplicate groups in more "
                          "than one part; results on it can be optimistic")
    else:
        console.print("Each group is on one side of the split.")
    for line in large_group_warnings(document, path):
        err_console.print(line, markup=False, highlight=False)


@app.command()
def cache(
    manifest: Annotated[Path, typer.Argument(help="manifest.csv or its folder.")],
    size: Annotated[int, typer.Option(help="Side of the square network input, px.")] = 256,
    mode: Annotated[str, typer.Option(help=f"One of {', '.join(RESIZE_MODES)}.")] = "letterbox",
    channels: Annotated[int, typer.Option(help="1 (grey) or 3 (RGB).")] = 1,
    out: Annotated[Optional[Path], typer.Option(help="Cache root (default: cache/ beside the manifest).")] = None,
) -> None:
    """Resize every image and mask once into memory-mappable arrays."""
    built = build_cache(load_manifest(manifest), size, mode, channels, out)  # type: ignore[arg-type]
    console.print(f"cache {built.path}: {built.meta['cases']} cases at {size}px ({mode}, {channels} channel(s))")


@app.command()
def datasets() -> None:
    """List the dataset adapters, their options and what to cite."""
    rows = [(name, ", ".join(f"{k}={f.default!r}" for k, f in cls.Options.model_fields.items()) or "-",
             cls.citation or "-") for name, cls in sorted(ADAPTERS.items())]
    print_frame(pd.DataFrame(rows, columns=["dataset", "options (-o)", "citation"]), "Datasets", index=False)


def _shipped_configs() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SHIPPED_CONFIGS.glob("*.yaml"))}


def _config_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = _shipped_configs()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise BusbenchError(f"config {name_or_path!r}: no such file, nor a shipped config ({', '.join(shipped)})")


def _print_summary(summary: pd.DataFrame, cfg: ExperimentConfig) -> None:
    if summary.empty:
        console.print("Not every fold is finished yet: the summary is written when the last one is.")
        return
    rows = [{"dataset": r["dataset"], "model": r["model"], **formatted(r)} for r in summary.to_dict("records")]
    print_frame(pd.DataFrame(rows), f"Held-out test set, mean ± std over fold models ({cfg.output_dir / cfg.name})",
                index=False)
    for line in key_legend(cfg):
        console.print(f"  {line}", markup=False, highlight=False)
    console.print("Conventions and per-image metrics: summary.md and per_image_metrics.csv in each run folder.")


@app.command()
def run(
    config: Annotated[str, typer.Argument(help="Experiment YAML file, or the name of a shipped config.")],
    set_: Annotated[list[str], typer.Option("--set", help="Override a setting, e.g. train.epochs=5.")] = [],  # noqa: B006
    fold: Annotated[list[int], typer.Option("--fold", help="Run only this fold (repeatable); for cluster jobs.")] = [],  # noqa: B006
    cell: Annotated[list[str], typer.Option("--cell", help="Run only this DATASET/MODEL cell (repeatable).")] = [],  # noqa: B006
) -> None:
    """Run a benchmark: prepare, split, cache, train every fold, score on the test set, aggregate."""
    cfg = load_config(_config_path(config), set_)
    _print_summary(run_experiment(cfg, fold or None, cell or None), cfg)


@app.command()
def jobs(
    config: Annotated[str, typer.Argument(help="Experiment YAML file, or the name of a shipped config.")],
    set_: Annotated[list[str], typer.Option("--set", help="Override a setting, e.g. train.epochs=5.")] = [],  # noqa: B006
) -> None:
    """Prepare the data once, then print one `busbench run` command per (cell, fold) for a cluster.

    Each line starts with this Python's absolute path and `-m busbench`, so it runs without the virtual
    environment on PATH.

    Feed the lines to any scheduler: a SLURM array (`sed -n "${SLURM_ARRAY_TASK_ID}p" jobs.txt | bash`),
    GNU parallel (`parallel < jobs.txt`) or a Snakemake rule. Finished folds are skipped on reruns, and
    the job that finishes a cell's last fold writes its tables.
    """
    progress_to_stderr()
    for line in _job_lines(config, set_):
        print(line)


def _job_lines(config: str, set_: list[str]) -> list[str]:
    """One `busbench run` line per (cell, fold) of the config with these overrides."""
    cfg = load_config(_config_path(config), set_)
    overrides = " ".join(f"--set {shlex.quote(item)}" for item in set_)
    return [" ".join(f"{BUSBENCH} run {shlex.quote(config)} {overrides} --cell {shlex.quote(cell_name)} "
                     f"--fold {fold}".split()) for cell_name, fold in plan_jobs(cfg)]


@app.command()
def delta(
    config: Annotated[str, typer.Argument(help="Experiment YAML file, or the name of a shipped config.")],
    set_: Annotated[list[str], typer.Option("--set", help="Override a setting, e.g. train.epochs=5.")] = [],  # noqa: B006
    jobs: Annotated[bool, typer.Option("--jobs", help="Print the runs of both protocols as job lines instead.")
                    ] = False,
) -> None:
    """The fairness delta: the same models under the image-level split of published benchmarks and
    under busbench's grouped split, with how many test images have a copy or same-patient image in
    training and the Dice on those images versus the rest.

    Runs both (finished folds are reused), then writes delta.csv and delta.md to OUTPUT_DIR/<name>-delta.
    With --jobs it prints the fold jobs of both instead (for GNU parallel or a cluster); run
    `busbench delta CONFIG` again when they are done.
    """
    from busbench.report.delta import fairness_delta, protocol_configs, write_delta

    cfg = load_config(_config_path(config), set_)
    configs = protocol_configs(cfg)
    if jobs:
        progress_to_stderr()
        for variant in configs.values():
            for line in _job_lines(config, [*set_, f"split.protocol={variant.split.protocol}", f"name={variant.name}"]):
                print(line)
        return
    for variant in configs.values():
        run_experiment(variant)
    table = fairness_delta(configs)
    out = cfg.output_dir / f"{cfg.name}-delta"
    write_delta(table, out)
    print_frame(table, "Fairness delta: image-level (leaky) vs grouped split", index=False)
    console.print(f"written: {out / 'delta.csv'}, {out / 'delta.md'}")


@app.command()
def configs() -> None:
    """List the shipped experiment configs (usable by name in `busbench run`)."""
    for name, path in _shipped_configs().items():
        console.print(f"{name:10s} {path}", highlight=False)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for everything the demo writes.")] = Path("busbench-demo"),
    set_: Annotated[list[str], typer.Option("--set", help="Override a demo setting.")] = [],  # noqa: B006
) -> None:
    """The main job on the embedded synthetic dataset: a small 3-fold U-Net benchmark."""
    cfg = load_config(_shipped_configs()["demo"], [*set_, f"output_dir={out}"])
    _print_summary(run_experiment(cfg), cfg)


@app.command()
def predict(
    run: Annotated[Path, typer.Option("--run", help="A run folder: OUTPUT_DIR/<name>/<dataset>/<model>.")],
    input_: Annotated[Path, typer.Option("--input", help="An image file or a folder of images.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for masks/, overlays/ and predictions.csv.")],
    overlays: Annotated[bool, typer.Option(help="Also write the images with the lesion drawn on them.")] = False,
    tta: Annotated[
        list[str], typer.Option("--tta", help="TTA views (hflip, vflip, rot180) (default: the run's).")
    ] = [],  # noqa: B006
    no_tta: Annotated[bool, typer.Option("--no-tta", help="Plain predictions, no test-time augmentation.")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    engine: Annotated[str, typer.Option(help="pytorch, or onnxruntime with --run a folder of `busbench export "
                                        "onnx` (the onnx extra).")] = "pytorch",
) -> None:
    """Segment new images with a run's fold ensemble, TTA and chosen post-processing."""
    from busbench.deploy.engines import load_trained

    unknown = sorted(set(tta) - set(TTA_VIEWS))
    if unknown:
        raise BusbenchError(f"--tta {unknown}: unknown views; choose from {', '.join(TTA_VIEWS)}")
    inputs = collect_inputs(input_)
    torch_device = resolve_device(device)
    trained = load_trained(run, engine, torch_device)
    views = [] if no_tta else (tta or None)
    for path in inputs.skipped:
        err_console.print(f"skipped: {path}: not an image file", markup=False, highlight=False)
    table = predict_images(trained, inputs.images, out, torch_device, views, overlays)
    failed = table[table["error"] != ""]
    for _, row in failed.iterrows():
        err_console.print(f"warning: {row['error']}", markup=False, highlight=False)
    console.print(f"{len(table) - len(failed)} masks written to {out / 'masks'} with {len(trained.models)} fold "
                  f"models (post-processing: {trained.postprocessing.describe()}); table: {out / PREDICTIONS_CSV}")


@app.command()
def models(
    name: Annotated[list[str], typer.Argument(help="Only these models; an import path module:attribute too.")] = [],  # noqa: B006
) -> None:
    """List the models with their parameters, the published reference and, for outside code, its origin.

    That is busbench's own models, MONAI's when it is installed (busbench[monai]), and those installed
    plugin packages register (entry point group busbench.models).
    """
    rows = []
    for model_name in name or [*sorted(available_models()), *entry_point_names()]:
        entry = resolve_model(model_name, "busbench models NAME")
        ours = count_parameters(build_model(model_name)) / 1e6
        reference = f"{entry.reference_params_m:.2f}" if entry.reference_params_m else "-"
        rows.append((model_name, f"{ours:.2f}", reference, entry.paper, entry.origin or "busbench"))
    print_frame(pd.DataFrame(rows, columns=["model", "params (M)", "published (M)", "paper", "origin"]),
                "Models (3-channel input, 1 output class)", index=False)


@app.command()
def profile(
    model: Annotated[list[str], typer.Option("--model", help="Model to profile (repeatable), or module:attribute "
                                                      "(default: all but plugins).")] = [],  # noqa: B006
    size: Annotated[int, typer.Option(help="Input side, px (checked against each model's valid sizes).")] = 256,
    batch: Annotated[int, typer.Option(help="Batch size of the second throughput and memory figure.")] = 8,
    channels: Annotated[int, typer.Option(help="Input channels.")] = 3,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    iterations: Annotated[int, typer.Option(help="Most timed iterations per throughput figure.")] = 10,
    seconds: Annotated[float, typer.Option(help="Most seconds per throughput figure, warm-up included.")] = 10.0,
    out: Annotated[Optional[Path], typer.Option(help="Folder for profile.csv and profile.md.")] = None,
    engine: Annotated[str, typer.Option(help="pytorch, or onnxruntime: also measure ONNX Runtime's images/s and "
                                        "its ratio to PyTorch's (the onnx extra).")] = "pytorch",
) -> None:
    """Parameters, MACs, GFLOPs, images/s and peak memory of models at one input size.

    Each throughput figure stops after --iterations runs or --seconds, whichever comes first, so a model
    takes about 2 x --seconds plus one batch for memory and one image for FLOPs: a 256 px U-Net takes
    under a minute on 2 CPU cores. A line is printed per measurement as it is taken.
    """
    from busbench.deploy.engines import with_onnxruntime_speed
    from busbench.deploy.onnx_runtime import check_engine

    check_engine(engine)
    names = model or sorted(available_models())

    def report(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    table = profile_models(names, size, batch, channels, resolve_device(device), iterations=iterations,
                           seconds=seconds, report=report)
    if engine == "onnxruntime":
        table = with_onnxruntime_speed(table, size, batch, channels, resolve_device(device), iterations, seconds,
                                       report)
    shown = table.round(3)
    print_frame(shown, f"Profile at {channels}x{size}x{size}", index=False)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "profile.csv", index=False, lineterminator="\n", float_format="%.4f")
        (out / "profile.md").write_text(markdown_table(shown))
        console.print(f"written: {out / 'profile.csv'}, {out / 'profile.md'}")


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="A results folder: the output_dir of `busbench run`.")],
    out: Annotated[Path, typer.Option(help="Folder for tables/, statistics/, plots/ and report.html.")],
    qualitative: Annotated[bool, typer.Option(help="Predict the best/median/worst images for the grid.")] = True,
) -> None:
    """Tables, confidence intervals, paired tests, plots and an HTML page from finished runs."""
    from busbench.report.build import build_report  # matplotlib: loaded only for this command

    built = build_report(results, out, qualitative)
    for dataset, table in built.tables.items():
        print_frame(display_table(table, ("", "")), f"{built.titles.get(dataset, dataset)}: held-out test set",
                    index=False)
        console.print(table_notes(table), markup=False, highlight=False)
    for reason in built.skipped:
        err_console.print(f"skipped: {reason}", markup=False, highlight=False)
    console.print(f"report: {out / 'report.html'} (tables, statistics and plots beside it)")


@app.command()
def audit(
    data_dir: Annotated[Path, typer.Argument(help="A folder written by `busbench prepare` (manifest.csv).")],
    out: Annotated[
        Optional[Path], typer.Option(help="Folder for audit.html and the CSVs (default: DATA_DIR/audit).")
    ] = None,
) -> None:
    """Data-quality report: duplicates, label conflicts, overlays, mask quality, split balance."""
    from busbench.audit.build import run_audit  # scipy.ndimage and the drawing: loaded only for this command

    done = run_audit(data_dir, out)
    print_frame(done.summary[["finding", "count"]], "Audit", index=False)
    console.print(f"audit: {done.out / 'audit.html'} (CSVs beside it)")


def _scoring_out(data_dir: Path, out: Path | None) -> Path:
    """Where a scored run goes: --out, else the output_dir that holds DATA_DIR (OUTPUT_DIR/data/<key>),
    so that `busbench report OUTPUT_DIR` shows it beside the models trained there."""
    if out is not None:
        return out
    if data_dir.resolve().parent.name != "data":
        raise BusbenchError(f"{data_dir}: not inside an OUTPUT_DIR/data/ folder; give --out OUTPUT_DIR")
    return data_dir.resolve().parent.parent


@app.command()
def score(
    data_dir: Annotated[Path, typer.Argument(help="The prepared dataset folder: manifest.csv and split-*.json.")],
    predictions: Annotated[Path, typer.Option(help="Folder of <case id>.png or .npy predictions of the test set.")],
    name: Annotated[str, typer.Option(help="The method's name in tables and its run folder.")],
    threshold: Annotated[
        Optional[float], typer.Option(help="Probability maps: lesion where p >= this (p = value/255 for 8-bit PNGs, "
                                      "value/65535 for 16-bit). Required for maps; masks ignore it.")
    ] = None,
    split: Annotated[Optional[Path], typer.Option(help="Split file, when DATA_DIR holds several.")] = None,
    out: Annotated[
        Optional[Path], typer.Option(help="Results folder (default: the OUTPUT_DIR holding DATA_DIR).")
    ] = None,
    missing: Annotated[str, typer.Option(help="error, or empty: score absent test cases as empty.")] = "error",
    resize: Annotated[bool, typer.Option(help="Fit predictions of another size to the image (marked).")] = False,
    case_map: Annotated[
        Optional[Path], typer.Option(help="case_ids.csv of `busbench export nnunet`: file names are nnU-Net ids.")
    ] = None,
    hd95: Annotated[str, typer.Option(help="HD95 convention: pooled or max-directed.")] = "pooled",
) -> None:
    """Score an outside method's test-set predictions like a zoo model, for `busbench report`."""
    if missing not in ("error", "empty"):
        raise BusbenchError(f"--missing {missing!r}: use error or empty")
    if hd95 not in ("pooled", "max-directed"):
        raise BusbenchError(f"--hd95 {hd95!r}: use pooled or max-directed")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise BusbenchError(f"--threshold {threshold}: give a probability in (0, 1]")
    data = load_split_data(data_dir, split)
    options = ScoreOptions(threshold, missing, resize, case_map, hd95)  # type: ignore[arg-type]
    results = _scoring_out(data_dir, out)
    run_dir, row = score_method(data, predictions, name, results, options)
    print_frame(pd.DataFrame([formatted(row)]).drop(columns="variant"), f"{name} on the test set of "
                f"{data.split_path.name}", index=False)
    for note in str(row["notes"]).split(" | "):
        console.print(f"† {note}", markup=False, highlight=False)
    console.print(f"run folder: {run_dir}; `busbench report {results}` shows it with the models "
                  "trained on this split", markup=False, highlight=False)


@app.command("export-test")
def export_test(
    data_dir: Annotated[Path, typer.Argument(help="The prepared dataset folder: manifest.csv and split-*.json.")],
    out: Annotated[Path, typer.Option(help="A new folder for <case id>.png and cases.csv.")],
    split: Annotated[Optional[Path], typer.Option(help="Split file, when DATA_DIR holds several.")] = None,
) -> None:
    """Write the held-out test images (only those, no masks) for an outside method to predict."""
    table = export_test_images(load_split_data(data_dir, split), out)
    console.print(f"{len(table)} test images written to {out} (cases.csv beside them); predict each as "
                  f"<case id>.png, then `busbench score {data_dir} --predictions DIR --name METHOD`",
                  markup=False, highlight=False)


export_app = typer.Typer(no_args_is_help=True, help="Export a prepared dataset and its split, or a run's models, "
                                                    "for other frameworks.")
app.add_typer(export_app, name="export")


@export_app.command("nnunet")
def export_nnunet_command(
    data_dir: Annotated[Path, typer.Argument(help="The prepared dataset folder: manifest.csv and split-*.json.")],
    dataset_id: Annotated[int, typer.Option(help="nnU-Net dataset id (500-999 for your own).")],
    out: Annotated[Path, typer.Option(help="The nnUNet_raw folder.")],
    split: Annotated[Optional[Path], typer.Option(help="Split file, when DATA_DIR holds several.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Dataset name, letters and digits (default: the dataset's).")
                    ] = None,
) -> None:
    """nnU-Net v2 raw format on busbench's split: images, labels, dataset.json, splits_final.json."""
    data = load_split_data(data_dir, split)
    chosen = name or "".join(ch for ch in data.manifest.dataset.upper() if ch.isalnum())
    folder = export_nnunet(data, out, dataset_id, chosen)
    console.print(f"written: {folder}. Copy {folder / 'splits_final.json'} to nnUNet_preprocessed/{folder.name}/ "
                  f"after nnUNetv2_plan_and_preprocess -d {dataset_id}; score nnU-Net's test predictions with "
                  f"`busbench score {data_dir} --predictions PREDS --name nnunet --case-map "
                  f"{folder / 'case_ids.csv'}`", markup=False, highlight=False)


@export_app.command("onnx")
def export_onnx_command(
    run: Annotated[Path, typer.Argument(help="A run folder: OUTPUT_DIR/<name>/<dataset>/<model>.")],
    out: Annotated[Path, typer.Option(help="Folder for fold-<k>.onnx and busbench_onnx.json.")],
) -> None:
    """Each fold model as ONNX (dynamic batch), checked against PyTorch, with what predict needs in a JSON."""
    from busbench.deploy.onnx_export import OPSET, export_run

    written = export_run(run, out)
    console.print(f"written: {written} and the fold models beside it (ONNX opset {OPSET}, dynamic batch); predict "
                  f"with `busbench predict --engine onnxruntime --run {out} --input IMAGES --out DIR`",
                  markup=False, highlight=False)


def _interrupted_message() -> str:
    saved = last_saved()
    what = f"The last thing saved: {saved}." if saved else "Nothing had been saved yet."
    return (f"interrupted. {what} Finished folds are kept, and a running fold restarts from its last finished "
            f"epoch. Resume with the same command: {BUSBENCH} {shlex.join(sys.argv[1:])}")


def main() -> None:
    """Console entry point: user errors become one clear message and exit code 2; Ctrl-C says
    what was saved and how to resume (exit code 130)."""
    interrupt.install()
    try:
        app()
    except BusbenchError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except SystemExit as exc:
        if exc.code == INTERRUPTED:  # typer turns Ctrl-C (KeyboardInterrupt) into exit code 130
            err_console.print(_interrupted_message(), markup=False, highlight=False)
        raise
