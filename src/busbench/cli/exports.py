"""Exports for other frameworks: of a prepared dataset and its split for outside methods, `export test`
(the held-out test images only, to be predicted and then scored) and `export nnunet` (nnU-Net v2's raw
format); of a run's fold models, `export onnx`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from busbench.cli.options import DataDirArgument, SplitFileOption
from busbench.console import console
from busbench.layout.folders import data_folder_output_dir
from busbench.log import counted

if TYPE_CHECKING:
    from busbench.data.export.held_out import SplitData


def _score_command(data_dir: Path, data: SplitData, predictions: str, name: str, extra: str = "") -> str:
    """The `busbench score` line for this export, whole and quoted: its split file, and ``--out`` where the data
    folder is not a run's own (``OUTPUT_DIR/data/<key>``), so that the method lands in the runs' table."""
    command = " ".join(word for word in ("busbench score", str(data_dir), f"--split {data.split_path.name}",
                                         f"--predictions {predictions}", f"--name {name}", extra) if word)
    if data_folder_output_dir(data_dir) is None:
        return f"`{command} --out OUTPUT_DIR` (OUTPUT_DIR: the output_dir of the runs to compare with, e.g. runs)"
    return f"`{command}`"


def export_test(
    data_dir: DataDirArgument,
    out: Annotated[Path, typer.Option(help="A new folder for <case id>.png and cases.csv.")],
    split: SplitFileOption = None,
) -> None:
    """Write the held-out test images (only those, no masks) for an outside method to predict."""
    from busbench.data.export.held_out import export_test_images, load_split_data

    data = load_split_data(data_dir, split)
    table = export_test_images(data, out)
    console.print(f"{counted(len(table), 'test image')} written to {out} (cases.csv beside them); predict each as "
                  f"<case id>.png, then {_score_command(data_dir, data, 'DIR', 'METHOD')}", markup=False,
                  highlight=False)


def export_nnunet_raw(
    data_dir: DataDirArgument,
    dataset_id: Annotated[int, typer.Option(help="nnU-Net dataset id (500-999 for your own).")],
    out: Annotated[Path, typer.Option(help="The nnUNet_raw folder.")],
    split: SplitFileOption = None,
    name: Annotated[Optional[str], typer.Option(help="Dataset name, letters and digits (default: the dataset's).")
                    ] = None,
) -> None:
    """nnU-Net v2 raw format on busbench's split: images, labels, dataset.json, splits_final.json."""
    from busbench.data.export.held_out import load_split_data
    from busbench.data.export.nnunet import export_nnunet

    data = load_split_data(data_dir, split)
    chosen = name or "".join(ch for ch in data.manifest.dataset.upper() if ch.isalnum())
    folder = export_nnunet(data, out, dataset_id, chosen)
    score = _score_command(data_dir, data, "PREDS", "nnunet", f"--case-map {folder / 'case_ids.csv'}")
    console.print(f"written: {folder}. Copy {folder / 'splits_final.json'} to nnUNet_preprocessed/{folder.name}/ "
                  f"after nnUNetv2_plan_and_preprocess -d {dataset_id}; score nnU-Net's test predictions with {score}",
                  markup=False, highlight=False)


def export_onnx(
    run: Annotated[Path, typer.Argument(help="A run folder: OUTPUT_DIR/<name>/<dataset>/<model>.")],
    out: Annotated[Path, typer.Option(help="Folder for fold-<k>.onnx, busbench_onnx.json, busbench_postprocess.py "
                                           "and MODEL_CARD.md.")],
    ensemble: Annotated[bool, typer.Option("--ensemble", help="Also ensemble.onnx: every fold model and TTA view "
                                                             "in one graph, giving the mean probability.")] = False,
    quantize: Annotated[Optional[str], typer.Option(help="int8: also int8 copies (dynamic quantisation), refused "
                                                         "where the run's test Dice falls by more than "
                                                         "--int8-tolerance.")] = None,
    int8_tolerance: Annotated[float, typer.Option(help="The largest mean test Dice drop int8 may cost.", min=0.0)
                              ] = 0.01,
) -> None:
    """Each fold model as ONNX (dynamic batch, and height and width where the model allows), checked against
    PyTorch, with the settings inside each file, a reference post-processing script and a model card."""
    from busbench.deploy.onnx_export import ExportOptions, export_run
    from busbench.deploy.onnx_graphs import OPSET

    written = export_run(run, out, ExportOptions(ensemble, quantize, int8_tolerance))
    console.print(f"written: {written}, the models, busbench_postprocess.py and MODEL_CARD.md beside it (ONNX opset "
                  f"{OPSET}, dynamic batch); predict with `busbench predict --engine onnxruntime --run {out} "
                  "--input IMAGES --out DIR` or with busbench_postprocess.py", markup=False, highlight=False)
