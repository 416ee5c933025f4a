"""Using and judging models on images: `predict` segments new images with a trained run, `score`
scores an outside method's test-set predictions like a zoo model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from busbench.cli.options import DataDirArgument, DeviceOption, Engine, MissingCases, SplitFileOption
from busbench.console import console, err_console, print_frame
from busbench.errors import BusbenchError
from busbench.layout.folders import data_folder_output_dir
from busbench.log import counted
from busbench.metrics.conventions import DEFAULT_NSD_TOLERANCE, HD95Convention


def predict(
    run: Annotated[Path, typer.Option("--run", help="A run folder: OUTPUT_DIR/<name>/<dataset>/<model>.")],
    input_: Annotated[Path, typer.Option("--input", help="An image file or a folder of images.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for masks/, overlays/ and predictions.csv.")],
    overlays: Annotated[bool, typer.Option(help="Also write the images with the lesion drawn on them.")] = False,
    tta: Annotated[
        list[str], typer.Option("--tta", help="TTA views (hflip, vflip, rot180) (default: the run's).")
    ] = [],  # noqa: B006
    no_tta: Annotated[bool, typer.Option("--no-tta", help="Plain predictions, no test-time augmentation.")] = False,
    device: DeviceOption = "auto",
    amp: Annotated[Optional[str], typer.Option(help="auto, off, bf16 or fp16 (default: the run's train.amp; "
                                                    "fp16 runs are predicted in fp32 on the CPU).")] = None,
    engine: Annotated[Engine, typer.Option(help="pytorch, or onnxruntime with --run a folder of `busbench export "
                                                "onnx` (the onnx extra).")] = "pytorch",
    allow_partial: Annotated[bool, typer.Option(help="Predict with an unfinished run's finished folds, without "
                                                "post-processing (said in predictions.csv).")] = False,
) -> None:
    """Segment new images with a run's fold ensemble, TTA and chosen post-processing."""
    from busbench.config.distinct import distinct
    from busbench.deploy.engines import load_trained
    from busbench.evaluate.inference import check_views
    from busbench.evaluate.predict import PREDICTIONS_CSV, PredictOptions, collect_inputs, predict_images
    from busbench.train.device import resolve_device

    check_views(tta, "--tta")
    try:
        distinct(tta)
    except ValueError as exc:
        raise BusbenchError(f"--tta: {exc}") from exc
    inputs = collect_inputs(input_)
    torch_device = resolve_device(device, "--device")
    trained = load_trained(run, engine, torch_device, allow_partial)
    if trained.partial:
        err_console.print(f"warning: {trained.partial}", markup=False, highlight=False)
    views = [] if no_tta else (tta or None)
    for path in inputs.skipped:
        why = "a sub-folder (not searched)" if path.is_dir() else "not an image file"
        err_console.print(f"skipped: {path}: {why}", markup=False, highlight=False)
    table = predict_images(trained, inputs.images, out, torch_device, PredictOptions(views, overlays, amp))
    failed = table[table["error"] != ""]
    for _, row in failed.iterrows():
        err_console.print(f"warning: {row['error']}", markup=False, highlight=False)
    console.print(f"{counted(len(table) - len(failed), 'mask')} written to {out / 'masks'} with "
                  f"{counted(len(trained.models), 'fold model')} (post-processing: "
                  f"{trained.postprocessing.describe()}); table: {out / PREDICTIONS_CSV}")


def _scoring_out(data_dir: Path, out: Path | None) -> Path:
    """Where a scored run goes: --out, else the output_dir that holds DATA_DIR (OUTPUT_DIR/data/<key>),
    so that `busbench report OUTPUT_DIR` shows it beside the models trained there."""
    if out is not None:
        return out
    output_dir = data_folder_output_dir(data_dir)
    if output_dir is None:
        raise BusbenchError(f"{data_dir}: not inside an OUTPUT_DIR/data/ folder; give --out OUTPUT_DIR")
    return output_dir


def score(
    data_dir: DataDirArgument,
    predictions: Annotated[Path, typer.Option(help="Folder of <case id>.png or .npy predictions of the test set.")],
    name: Annotated[str, typer.Option(help="The method's name in tables and its run folder.")],
    threshold: Annotated[
        Optional[float], typer.Option(help="Probability maps: lesion where p >= this (p = value/255 for 8-bit PNGs, "
                                      "value/65535 for 16-bit). Required for maps; masks ignore it.")
    ] = None,
    split: SplitFileOption = None,
    out: Annotated[
        Optional[Path], typer.Option(help="Results folder (default: the OUTPUT_DIR holding DATA_DIR).")
    ] = None,
    missing: Annotated[MissingCases, typer.Option(help="error, or empty: score absent test cases as empty.")
                       ] = "error",
    resize: Annotated[bool, typer.Option(help="Fit predictions of another size to the image (marked).")] = False,
    case_map: Annotated[
        Optional[Path], typer.Option(help="case_ids.csv of `busbench export nnunet`: file names are nnU-Net ids.")
    ] = None,
    hd95: Annotated[HD95Convention, typer.Option(help="HD95 convention: pooled or max-directed.")] = "pooled",
    nsd_tolerance: Annotated[float, typer.Option(
        min=0.0, help="NSD (surface Dice) tolerance in pixels of the original image.")] = DEFAULT_NSD_TOLERANCE,
) -> None:
    """Score an outside method's test-set predictions like a zoo model, for `busbench report`."""
    import pandas as pd

    from busbench.data.export.held_out import load_split_data
    from busbench.evaluate.aggregate import formatted
    from busbench.evaluate.outside_method import ScoreOptions, score_method

    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise BusbenchError(f"--threshold {threshold}: give a probability in (0, 1]")
    data = load_split_data(data_dir, split)
    options = ScoreOptions(threshold, missing, resize, case_map, hd95, nsd_tolerance)
    results = _scoring_out(data_dir, out)
    run_dir, row = score_method(data, predictions, name, results, options)
    print_frame(pd.DataFrame([formatted(row)]).drop(columns="variant"), f"{name} on the test set of "
                f"{data.split_path.name}", index=False)
    for note in str(row["notes"]).split(" | "):
        console.print(f"† {note}", markup=False, highlight=False)
    console.print(f"run folder: {run_dir}; `busbench report {results}` shows it with the models "
                  "trained on this split", markup=False, highlight=False)
