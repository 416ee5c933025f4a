"""Which folder holds a run's manifest, split files and cache, preparing it when `run` keeps its own.

With ``data.prepared`` a run reads the folder a user made with ``busbench prepare`` and writes its
split and cache beside the manifest, under the same names ``busbench split`` and ``busbench cache``
give them, so the documented data commands and ``run`` share one copy. Without it ``run`` prepares the
dataset once under ``OUTPUT_DIR/data/<dataset>-<hash>/`` and reuses that.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from busbench.config.paths import missing_root_message
from busbench.data.adapters.synthetic import SYNTHETIC
from busbench.data.manifest import MANIFEST_META, load_manifest
from busbench.data.prepare import PROBLEMS_CSV, prepare_dataset
from busbench.errors import BusbenchError
from busbench.layout.folders import data_folder
from busbench.log import counted, logger

if TYPE_CHECKING:
    from busbench.config import ExperimentConfig

OWN_FOLDER = "folder"  # the adapter of a user's own pairs, whose manifest carries the name it was given


def _prepared_folder(cfg: ExperimentConfig, folder: Path) -> Path:
    if not (folder / MANIFEST_META).is_file():
        raise BusbenchError(f"data.prepared {folder}: no manifest here; make it with `busbench prepare "
                            f"{cfg.data.dataset} --root DATASET --out {folder}` or unset data.prepared")
    made_from = load_manifest(folder).dataset
    if made_from and made_from != cfg.data.dataset and cfg.data.dataset != OWN_FOLDER:
        raise BusbenchError(f"data.prepared {folder}: prepared from dataset {made_from!r}, but data.dataset is "
                            f"{cfg.data.dataset!r}; set data.dataset: {made_from}")
    return folder


def dataset_folder(cfg: ExperimentConfig) -> Path:
    """The folder with manifest.csv for the config's dataset: ``data.prepared``, or run's own (made once)."""
    if cfg.data.prepared is not None:
        return _prepared_folder(cfg, cfg.data.prepared)
    folder = data_folder(cfg.output_dir, cfg.data.key())
    if (folder / MANIFEST_META).is_file():
        return folder
    if cfg.data.root is None and cfg.data.dataset != SYNTHETIC:
        raise BusbenchError(f"data.root is required for dataset {cfg.data.dataset!r}: the folder it was unpacked "
                            "into (e.g. ${BUSBENCH_DATA}/NAME), or data.prepared: a folder made by `busbench prepare`")
    if cfg.data.root is not None and cfg.data.dataset != SYNTHETIC and not cfg.data.root.is_dir():
        raise BusbenchError(missing_root_message("data.root", cfg.data.root))
    root = cfg.data.root or folder / "raw"
    logger.info(f"preparing {cfg.data.dataset} from {root} into {folder}")
    prepared = prepare_dataset(cfg.data.dataset, root, folder, cfg.data.options)
    problems = prepared.log.counts()
    kinds = "; ".join(f"{n} {action}: {reason}" for (action, reason), n in sorted(problems.items()))
    logger.info(f"manifest: {len(prepared.frame)} images" + (
        f"; {counted(len(prepared.log.problems), 'file')} dropped or fixed ({kinds}), each in "
        f"{folder / PROBLEMS_CSV}" if problems else "; no file dropped or fixed"))
    return folder
