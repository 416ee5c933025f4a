"""Making a dataset ready for a cell (``data.prepared.PreparedData``): its manifest, frozen split
and cache, prepared once and shared by every model (``layout.data_folder``), and the provenance of
what is trained on it."""

from __future__ import annotations

from pathlib import Path

from busbench.config import ExperimentConfig
from busbench.data.access import held_out_test_ids
from busbench.data.cache import build_cache
from busbench.data.manifest import MANIFEST_META, load_manifest
from busbench.data.prepared import PreparedData
from busbench.data.provenance import Provenance
from busbench.data.registry.planning import plan, split_name
from busbench.data.split.split_file import (
    SPLIT_FILES,
    large_group_warnings,
    read_split,
    split_command,
    write_split,
)
from busbench.data.split.summary import registry_crossing_warnings
from busbench.layout.folders import data_folder
from busbench.layout.locks import lock_file, locked
from busbench.log import logger
from busbench.pipeline.dataset_folder import dataset_folder
from busbench.pipeline.pool import prepare_pool


def prepare_data(cfg: ExperimentConfig) -> PreparedData:
    """Manifest, frozen split and cache of the config's dataset, made once and reused.

    The split file is named by its settings, so splits of other settings (fold counts, say) live
    beside it; an existing one is only read, and refused if the manifest changed since. Processes
    sharing the data folder (fold-parallel jobs) take turns: the first prepares, the others wait
    and then read what it wrote.
    """
    if cfg.data.pool:
        members = [prepare_data(cfg.model_copy(update={"data": member})) for member in cfg.data.pool]
        with locked(lock_file(data_folder(cfg.output_dir, cfg.data.key()), "data"), "pooling datasets"):
            return prepare_pool(cfg, members)
    # the folder's lock is taken before dataset_folder, which prepares the dataset when run keeps its own
    folder = cfg.data.prepared if cfg.data.prepared is not None else data_folder(cfg.output_dir, cfg.data.key())
    if cfg.data.prepared is not None and not (folder / MANIFEST_META).is_file():
        return _prepare_data(cfg)  # refused there, without making a folder for the lock
    with locked(lock_file(folder, "data"), f"preparing {folder}"):
        return _prepare_data(cfg)


def _prepare_data(cfg: ExperimentConfig) -> PreparedData:
    data_dir = dataset_folder(cfg)
    manifest = load_manifest(data_dir)
    settings = cfg.split.settings()
    split_path = data_dir / split_name(manifest, settings)
    if split_path.is_file():
        split = read_split(split_path, manifest, split_command(manifest.path, settings))
    else:
        if cfg.data.prepared is not None:
            _warn_of_other_splits(data_dir, split_path)
        how = f"by registry {settings.registry}" if settings.registry else "duplicate search included"
        logger.info(f"splitting {len(manifest.frame)} images ({how})")
        split = plan(manifest, settings)
        write_split(split, split_path)
        logger.info(f"split written: {split_path}")
    held_out_test_ids(split, manifest)  # the test files checked at once, not after hours of training
    for line in large_group_warnings(split, split_path) + registry_crossing_warnings(split, manifest):
        logger.warning(line)
    cache = build_cache(manifest, cfg.input.size, cfg.input.resize, cfg.input.channels)
    return PreparedData(manifest, split_path, split, cache)


def _warn_of_other_splits(data_dir: Path, split_path: Path) -> None:
    """A prepared folder whose frozen splits the run's split settings do not name: the run splits anew, which a
    user who froze a split with `busbench split` must hear (their test set is not the one trained against)."""
    others = sorted(p.name for p in data_dir.glob(SPLIT_FILES))
    if others:
        logger.warning(f"{data_dir} holds {', '.join(others)}, but this run's split settings name "
                       f"{split_path.name}, which is made now. To train on a split already there, run with the "
                       "settings its name states (split.test_size, split.seed, split.folds; split.registry=null for "
                       "a split of your own, split.registry=NAME for a registry's)")


def fold_provenance(data: PreparedData, fold: int) -> Provenance:
    return data.provenance(data.development.train_ids(fold))


def cell_provenance(data: PreparedData) -> Provenance:
    """The ensemble's provenance: it was trained on every development case."""
    return data.provenance(data.development.case_ids())


def training_images(data: PreparedData, train_ids: list[str]) -> dict[str, object]:
    """What a checkpoint records of its training images, so that a later use of its weights
    (``model.init_from``) can check them against another test set."""
    pixels = data.manifest.frame.set_index("case_id").loc[train_ids, "pixel_sha256"].tolist()
    return {"manifest": str(data.manifest.path.resolve()), "dataset": data.manifest.dataset,
            "case_ids": list(train_ids), "pixel_sha256": pixels}
