"""`busbench verify`: one screen that says whether a copy of a dataset is the one a registry (the
published numbers' split) was made from, case by case (``busbench.data.registry.verify``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from busbench.console import console
from busbench.data.registry.classes import CHANGED, EXTRA, MISSING, RENAMED, RESAMPLED
from busbench.errors import BusbenchError
from busbench.log import counted

if TYPE_CHECKING:
    from busbench.data.registry.record import Registry
    from busbench.data.registry.verify import Verification

MEANING = {
    "exact": "same image and mask pixels, same name",
    RESAMPLED: "same name, image at another resolution or encoding, mask agrees",
    RENAMED: "content of a registry case under another name",
    CHANGED: "same name or image as a registry case, other image or mask",
    MISSING: "registry cases not in your copy",
    EXTRA: "cases of your copy not in the registry",
}
ADVICE = {
    CHANGED: "restore the changed files from the original download (or re-download the dataset)",
    MISSING: "restore the missing files (or re-download the dataset)",
    EXTRA: "remove the extra files (split anyway, they go to development only)",
}


def _default_registry(dataset: str) -> str:
    """The one shipped registry of ``dataset``; else say which to pass."""
    from busbench.data.registry.record import load_registry, shipped_registries

    names = [name for name, path in shipped_registries().items() if load_registry(path)[0].dataset == dataset]
    if len(names) != 1:
        which = f"one of {', '.join(names)}" if names else f"a registry file (none is shipped for {dataset!r})"
        raise BusbenchError(f"--registry: pass {which}; `busbench registry list` shows the shipped ones")
    return names[0]


def _verify_raw(data: Path, registry: str | None, adapter: str | None) -> tuple[str, Registry, Verification]:
    """Prepare a raw dataset folder into a temporary folder and verify it."""
    from busbench.data.adapters import ADAPTERS
    from busbench.data.manifest import MANIFEST_CSV, load_manifest
    from busbench.data.prepare import prepare_dataset
    from busbench.data.registry.record import load_registry
    from busbench.data.registry.verify import verify_copy

    loaded = load_registry(registry)[0] if registry else None
    name = adapter or (loaded.dataset if loaded else None)
    if name is None or name not in ADAPTERS:
        raise BusbenchError(f"{data}: a raw dataset folder (no {MANIFEST_CSV}); pass --adapter (one of "
                            f"{', '.join(sorted(ADAPTERS))}) to read it, or prepare it with `busbench prepare`")
    with tempfile.TemporaryDirectory(prefix="busbench-verify-") as temporary:
        result = prepare_dataset(name, data, Path(temporary))
        dropped = sum(p.action == "dropped" for p in result.log.problems)
        if dropped:
            console.print(f"prepare dropped {counted(dropped, 'file')} of {data} (unreadable or unpaired; "
                          f"`busbench prepare {name} --root {data} --out DIR` lists them)")
        manifest = load_manifest(result.manifest_path)
        loaded = loaded or load_registry(_default_registry(manifest.dataset))[0]
        return name, loaded, verify_copy(loaded, manifest.frame, str(data))


def _split_command(registry: Registry, prepared: str | None, source: str, adapter: str, allow: bool) -> str:
    """The commands that split the copy as the registry says (a raw copy is prepared first)."""
    split = f"`busbench split {prepared or 'DIR'} --registry {registry.name}{' --allow-mismatch' if allow else ''}`"
    return split if prepared else f"`busbench prepare {adapter} --root {source} --out DIR`, then {split}"


def _report(result: Verification, registry: Registry, source: str, out: Path, commands: Callable[[bool], str]) -> None:
    counts = result.counts()
    console.print(f"{source} against registry {registry.name} ({counted(len(registry.cases), 'case')} of "
                  f"{registry.dataset}):", markup=False, highlight=False)
    for name, count in counts.items():
        console.print(f"  {name:<10}{count:>6}  {MEANING[name]}", markup=False, highlight=False)
    for note in result.notes:
        console.print(f"  note: {note}", markup=False, highlight=False)
    console.print(f"Every case with its class: {out}", markup=False, highlight=False)
    if result.agrees:
        console.print(f"Your copy holds every registry case and nothing else: {commands(False)} gives the "
                      "published test set and folds.", markup=False, highlight=False)
        if RESAMPLED in counts:
            console.print(f"{counted(counts[RESAMPLED], 'case')} are at another resolution or encoding: busbench "
                          "scores at your copy's resolution, so scores can differ slightly from the published ones.",
                          markup=False, highlight=False)
        return
    console.print("Your copy is not the published one. To fix it:", markup=False, highlight=False)
    for name, advice in ADVICE.items():
        if name in counts:
            console.print(f"  {name}: {advice}", markup=False, highlight=False)
    console.print(f"or split it anyway with {commands(True)} (its test set then differs from the "
                  "published one: say so with your numbers).", markup=False, highlight=False)


def verify(
    data: Annotated[Path, typer.Argument(help="Your copy: a prepared dataset (manifest.csv or its folder) or the "
                                              "raw dataset folder.")],
    registry: Annotated[Optional[str], typer.Option(
        help="The registry to check against (`busbench registry list`, or a file); default: the one shipped "
             "for the dataset.")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="CSV of every case's class (default: verify.csv beside the manifest, or here for raw data).")] = None,
    adapter: Annotated[Optional[str], typer.Option(
        help="For a raw folder: the adapter that reads it (default: the registry's dataset).")] = None,
) -> None:
    """Is your copy of a dataset the one the published numbers were computed on? Exit 0 when it is."""
    from busbench.data.manifest import MANIFEST_CSV, load_manifest
    from busbench.data.registry.record import load_registry
    from busbench.data.registry.verify import verify_copy
    from busbench.layout.atomic import write_csv

    csv_path = data / MANIFEST_CSV if data.is_dir() else data
    if csv_path.is_file():
        manifest = load_manifest(csv_path)
        loaded = load_registry(registry or _default_registry(manifest.dataset))[0]
        result = verify_copy(loaded, manifest.frame, str(manifest.path))
        target, prepared, name = out or manifest.path.with_name("verify.csv"), str(manifest.path.parent), ""
    elif data.is_dir():
        name, loaded, result = _verify_raw(data, registry, adapter)
        target, prepared = out or Path.cwd() / "verify.csv", None
    else:
        raise BusbenchError(f"{data}: no such file or folder; pass a prepared dataset or the dataset's folder")
    write_csv(result.cases, target, float_format="%.4f")
    _report(result, loaded, str(data), target,
            lambda allow: _split_command(loaded, prepared, str(data), name, allow))
    if not result.agrees:
        raise typer.Exit(1)
