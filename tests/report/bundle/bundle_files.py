"""Bundle files as tests need them: made by the CLI, read back as JSON, edited and sealed again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from busbench.report.bundle.record import canonical_sha256, cell_identity, run_identity


@dataclass(frozen=True)
class BundleRuns:
    output_dir: Path
    registry: Path  # made from run a's split

    def run(self, name: str) -> Path:
        return self.output_dir / name


def raw(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def rows(cell: dict[str, Any]) -> pd.DataFrame:
    """A bundle cell's per-image rows as a table, read from the JSON by hand."""
    return pd.DataFrame(cell["rows"], columns=cell["columns"])


def reseal(bundle: dict[str, Any], path: Path) -> Path:
    """A bundle edited as another lab's busbench would have written it: its cells' identities (config,
    environment and metrics), the run's identity and the cells' checksum made again."""
    for cell in bundle["cells"]:
        cell["identity"] = cell_identity(cell["config"], cell["environment"], cell["columns"], cell["rows"])
    bundle["identity"] = run_identity(cell["identity"] for cell in bundle["cells"])
    bundle["cells_sha256"] = canonical_sha256(bundle["cells"])
    path.write_text(json.dumps(bundle))
    return path
