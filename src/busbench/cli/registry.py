"""`busbench registry`: list the split registries busbench ships, and build one from a lab's own
split so that other labs get the same test set (``busbench.data.registry``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from busbench.console import console, print_frame
from busbench.errors import BusbenchError

registry_app = typer.Typer(no_args_is_help=True, help="Split registries: published splits that every copy of a "
                                                      "dataset gets by content.")


@registry_app.command("list")
def list_registries() -> None:
    """The registries busbench ships: use one with `busbench split DATA --registry NAME` or split.registry."""
    import pandas as pd

    from busbench.data.registry.record import load_registry, shipped_registries
    from busbench.data.split.record import TEST

    rows = []
    for name in shipped_registries():
        registry, path, _ = load_registry(name)
        parts = registry.frame()["part"]
        rows.append((name, registry.dataset, int((parts == TEST).sum()), int((parts != TEST).sum()), registry.folds,
                     registry.test_set_sha256[:12], registry.description))
    print_frame(pd.DataFrame(rows, columns=["registry", "dataset", "test", "development", "folds", "test sha256",
                                            "what"]), "Shipped split registries", index=False)


@registry_app.command("build")
def build(
    data: Annotated[Path, typer.Argument(help="The prepared dataset: manifest.csv or its folder.")],
    split: Annotated[Path, typer.Option("--split", help="The split file to publish (`busbench split`).")],
    name: Annotated[str, typer.Option("--name", help="The registry's name, e.g. mydata-v1.")],
    out: Annotated[Path, typer.Option("--out", help="The registry file to write (.json).")],
    dataset_version: Annotated[str, typer.Option(help="Which release of the dataset this copy is.")] = "unknown",
    description: Annotated[Optional[str], typer.Option(help="One line on the split, shown by `registry list`.")] = None,
) -> None:
    """Publish a split as a registry: every case's role by its content fingerprint."""
    from busbench.data.manifest import load_manifest
    from busbench.data.registry.build import build_registry
    from busbench.data.registry.record import registry_bytes
    from busbench.data.split.split_file import read_split
    from busbench.layout.atomic import write_bytes

    if out.exists():
        raise BusbenchError(f"--out {out}: exists; a registry is published once: choose a new name (e.g. -v2)")
    manifest = load_manifest(data)
    registry = build_registry(manifest, read_split(split, manifest), name, dataset_version, description or "",
                              f"--split {split}")
    write_bytes(registry_bytes(registry), out)
    console.print(f"Registry {name}: {len(registry.cases)} cases, test set sha256 {registry.test_set_sha256}; "
                  f"written to {out}")
