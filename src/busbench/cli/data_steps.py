"""The data steps, each on its own: `prepare`, `split`, `cache`, and `datasets` that lists the adapters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
import yaml

from busbench.console import console, err_console, print_frame
from busbench.data.choices import RESIZE_MODES, ResizeMode
from busbench.errors import BusbenchError
from busbench.log import counted

if TYPE_CHECKING:
    from busbench.data.prepare import PrepareResult


def _parse_options(pairs: list[str]) -> dict[str, object]:
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BusbenchError(f"-o {pair!r}: expected KEY=VALUE, e.g. -o mask_suffix=_mask")
        try:
            options[key.strip()] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as exc:
            raise BusbenchError(f"-o {pair!r}: the value is not valid YAML ({getattr(exc, 'problem', exc)}); "
                                "quote it or close its brackets") from exc
    return options


def _report_prepare(result: PrepareResult, out: Path) -> None:
    import pandas as pd

    from busbench.data.prepare import PROBLEMS_CSV, SHOWN_PROBLEMS

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
    console.print(f"Every problem with its file ({counted(len(problems), 'problem')}): {out / PROBLEMS_CSV}")


def prepare(
    dataset: Annotated[str, typer.Argument(help="Dataset adapter (`busbench datasets` lists them).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for manifest.csv (outside the dataset).")],
    root: Annotated[Optional[Path], typer.Option("--root", help="The dataset folder.")] = None,
    option: Annotated[list[str], typer.Option("-o", "--option", help="Adapter option KEY=VALUE.")] = [],  # noqa: B006
) -> None:
    """Read a public dataset in its authors' layout, or your own folder (`folder`), and write its manifest.

    Your own folder pairs images and masks by stem, by templates (-o image=images/{id}.png
    -o mask=masks/mask_{id}.png), by regexes with a group (?P<id>...), or by a CSV (-o pairs_csv=list.csv);
    -o name=NAME names it in tables. A failed prepare still writes prepare_problems.csv.
    """
    from busbench.data.prepare import prepare_dataset

    if root is None:
        if dataset != "synthetic":
            raise BusbenchError(f"--root is required for dataset {dataset!r}: the folder the dataset was unpacked into")
        root = out / "raw"
    if not root.is_dir() and dataset != "synthetic":
        raise BusbenchError(f"--root {root}: no such folder")
    result = prepare_dataset(dataset, root, out, _parse_options(option))
    _report_prepare(result, out)


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
        Optional[Path], typer.Option(help="CSV of case_a, case_b, relation (must-link or cannot-link); a case "
                                     "by its case_id or pixel_sha256.")
    ] = None,
    set_: Annotated[
        list[str], typer.Option("--set", help="Another split setting, e.g. near_duplicate_distance=8.")
    ] = [],  # noqa: B006
    force: Annotated[bool, typer.Option(help="Replace an existing, different split of the same settings.")] = False,
    registry: Annotated[Optional[str], typer.Option(
        help="Take every case's role from this split registry (`busbench registry list`, or a file), by content.")
    ] = None,
    allow_mismatch: Annotated[bool, typer.Option(
        help="With --registry: split a copy with cases the registry lacks (development only) or lacking some.")
    ] = False,
) -> None:
    """Freeze the held-out test set and the cross-validation folds, or take them from a registry."""
    from busbench.config import apply_overrides, validate_config
    from busbench.data.manifest import load_manifest
    from busbench.data.registry.planning import plan, split_name
    from busbench.data.split.split_file import large_group_warnings, read_split, split_command, write_split
    from busbench.data.split.summary import groups_across_parts, registry_crossing_warnings, split_summary

    loaded = load_manifest(manifest)
    raw = {"test_size": test_size, "folds": folds, "seed": seed, "official": official,
           "official_test_fold": official_test_fold, "links_file": links_file, "registry": registry,
           "registry_mismatch": allow_mismatch}
    settings_set = [item.removeprefix("split.") for item in set_]  # `--set folds=2` and a config's `split.folds=2`
    cfg = validate_config({"split": apply_overrides(raw, settings_set)}, "busbench split options").split
    settings = cfg.settings()
    path = out or loaded.path.parent / split_name(loaded, settings)
    resplit = split_command(loaded.path.parent, settings)
    if path.is_file() and not force:  # a frozen split the data no longer matches: said before the duplicate search
        read_split(path, loaded, resplit)
    split = plan(loaded, settings)
    status = write_split(split, path, force, resplit)
    print_frame(split_summary(split, loaded), f"Split {path} ({status})")
    console.print(f"test set sha256 {split.test_set_sha256}; manifest sha256 {loaded.sha256}")
    if split.registry is not None:
        from_registry = split.registry
        console.print(f"Roles from registry {from_registry.name} (sha256 {from_registry.sha256[:12]}); its test set "
                      f"by content: sha256 {from_registry.test_set_sha256} (the one to compare with other labs: the "
                      "first is of this copy's ids and pixels)")
        if not from_registry.complete:
            err_console.print(f"warning: {counted(len(from_registry.extra_cases), 'case')} not in the registry went "
                              f"to development; {counted(len(from_registry.missing_cases), 'registry case')} missing "
                              "from this copy. Tables name both counts")
    groups = split.cases_frame().groupby("group").size()
    console.print(f"{counted(split.duplicate_images, 'image')} linked as exact or near duplicates; "
                  f"{counted(len(groups), 'group')} of images (same patient or duplicates), the largest of "
                  f"{groups.max()}.")
    straddling = groups_across_parts(split)
    crossing = registry_crossing_warnings(split, loaded)
    if straddling:
        err_console.print(f"warning: the official partition puts {straddling} patient/duplicate groups in more "
                          "than one part; results on it can be optimistic")
    elif crossing:
        for line in crossing:
            err_console.print(line, markup=False, highlight=False)
    else:
        console.print("Each group is on one side of the split.")
    for line in large_group_warnings(split, path):
        err_console.print(line, markup=False, highlight=False)


def cache(
    manifest: Annotated[Path, typer.Argument(help="manifest.csv or its folder.")],
    size: Annotated[int, typer.Option(help="Side of the square network input, px.")] = 256,
    mode: Annotated[ResizeMode, typer.Option(help=f"One of {', '.join(RESIZE_MODES)}.")] = "letterbox",
    channels: Annotated[int, typer.Option(help="1 (grey) or 3 (RGB).")] = 1,
    out: Annotated[Optional[Path], typer.Option(help="Cache root (default: cache/ beside the manifest).")] = None,
) -> None:
    """Resize every image and mask once into memory-mappable arrays."""
    from busbench.data.cache import build_cache
    from busbench.data.manifest import load_manifest

    built = build_cache(load_manifest(manifest), size, mode, channels, out)
    console.print(f"cache {built.path}: {counted(len(built.index), 'case')} at {size}px ({mode}, "
                  f"{counted(channels, 'channel')})")


def datasets() -> None:
    """List the dataset adapters, their options and what to cite."""
    import pandas as pd

    from busbench.data.adapters import ADAPTERS

    rows = [(name, ", ".join(f"{k}={f.default!r}" for k, f in cls.Options.model_fields.items()) or "-",
             cls.citation or "-") for name, cls in sorted(ADAPTERS.items())]
    print_frame(pd.DataFrame(rows, columns=["dataset", "options (-o)", "citation"]), "Datasets", index=False)
