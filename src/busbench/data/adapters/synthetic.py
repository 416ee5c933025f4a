"""The embedded synthetic dataset (``busbench.data.synthetic``): generated into --root, then read
like any folder dataset, so it goes through exactly the checks real data goes through.

--root is the generator's own folder: it is written only when empty or when it already holds a
synthetic dataset (recognised by ``generator.json``); other settings regenerate it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pydantic import Field

from busbench.data.adapters.base import AdapterOptions, CaseSource, DatasetAdapter, register_adapter
from busbench.data.adapters.folder import FolderAdapter, FolderOptions
from busbench.data.problems import ProblemLog
from busbench.data.synthetic import iter_cases, write_cases
from busbench.errors import BusbenchError
from busbench.layout.atomic import write_json
from busbench.progress import progress

SETTINGS_FILE = "generator.json"


class SyntheticOptions(AdapterOptions):
    count: int = Field(120, ge=4, le=100_000)
    size: int = Field(128, ge=16, le=2048)
    seed: int = 0
    near_duplicate_rate: float = Field(0.03, ge=0.0, le=0.5)


SYNTHETIC = "synthetic"  # the dataset name of the embedded generator, which needs no data.root


@register_adapter(SYNTHETIC, "Synthetic")
class SyntheticAdapter(DatasetAdapter[SyntheticOptions]):
    Options = SyntheticOptions
    citation = "busbench synthetic BUS generator"

    def _generate(self, root: Path) -> None:
        settings = self.options.model_dump(mode="json")
        marker = root / SETTINGS_FILE
        if marker.is_file() and json.loads(marker.read_text()) == settings:
            return
        if root.exists() and any(root.iterdir()) and not marker.is_file():
            raise BusbenchError(
                f"{root}: not empty and not a synthetic dataset; give the synthetic generator an empty --root"
            )
        for sub in ("images", "masks"):
            shutil.rmtree(root / sub, ignore_errors=True)
        opts = self.options
        cases = iter_cases(opts.count, opts.size, opts.seed, opts.near_duplicate_rate)
        write_cases(progress(cases, "generating synthetic images", total=opts.count), root)
        write_json(settings, marker)

    def discover(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        self._generate(root)
        return FolderAdapter(FolderOptions(labels_csv="cases.csv")).discover(root, log)
