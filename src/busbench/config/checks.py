"""Warnings about a config before `run` starts: settings that are valid but almost certainly unintended.

- A near-empty config falls back to the defaults of a full benchmark (256 px, full U-Net,
  5 folds x 100 epochs): days on a CPU. The warning states the work (images x epochs x folds).
- ``schedule.warmup_epochs >= train.epochs`` (e.g. ``--set train.epochs=1`` on a shipped config):
  the warm-up never ends, so the set learning rate is never reached.
"""

from __future__ import annotations

import csv
from pathlib import Path

from busbench.config.experiment import ExperimentConfig, InputConfig, ModelConfig, SplitConfig
from busbench.config.training import TrainConfig
from busbench.data.adapters.synthetic import SYNTHETIC, SyntheticOptions
from busbench.data.manifest import MANIFEST_CSV

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
# The defaults that make a full benchmark, each with the section it is read from.
HEAVY_DEFAULTS = (("input", "size", InputConfig), ("model", "name", ModelConfig), ("train", "epochs", TrainConfig),
                  ("split", "folds", SplitConfig))


def _counted_images(root: Path) -> int:
    """Image files under a dataset folder, masks and ground-truth folders left out (an estimate)."""
    return sum(1 for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
               and not any("mask" in part.lower() or part == "GT" for part in p.relative_to(root).parts))


def dataset_images(cfg: ExperimentConfig) -> int | None:
    """The dataset's image count, from its manifest if made, else estimated; None where unknown."""
    folder = cfg.data.prepared or cfg.output_dir / "data" / cfg.data.key()
    if (folder / MANIFEST_CSV).is_file():
        with (folder / MANIFEST_CSV).open(newline="") as rows:
            return sum(1 for _ in csv.reader(rows)) - 1
    if cfg.data.dataset == SYNTHETIC:
        return int(cfg.data.options.get("count", SyntheticOptions.model_fields["count"].default))
    if cfg.data.root is not None and cfg.data.root.is_dir():
        return _counted_images(cfg.data.root)
    return None


def default_run_warning(cfg: ExperimentConfig) -> str | None:
    """A warning when unset keys fall back to a full-size benchmark (256 px, U-Net, 5 x 100 epochs)."""
    unset = [f"{section}.{key}" for section, key, _ in HEAVY_DEFAULTS
             if key not in getattr(cfg, section).model_fields_set
             and not (section == "split" and cfg.split.registry is not None)]  # a registry sets the folds
    heavy = all(getattr(getattr(cfg, section), key) == model.model_fields[key].default
                for section, key, model in HEAVY_DEFAULTS) and not cfg.model.kwargs
    if not unset or not heavy:
        return None
    images = dataset_images(cfg)
    development = None if images is None else round(images * (1 - cfg.split.test_size))
    per_epoch = (cfg.train.iterations_per_epoch * cfg.train.batch_size if cfg.train.iterations_per_epoch
                 else development)
    work = ("every development image" if per_epoch is None else
            f"{per_epoch} images x {cfg.train.epochs} epochs x {cfg.split.folds} folds = "
            f"{per_epoch * cfg.train.epochs * cfg.split.folds:,} image passes")
    return (f"warning: {', '.join(unset)} not set: the defaults train a full U-Net at {cfg.input.size} px on "
            f"{work} per cell (days on a CPU, hours on a GPU); set them, e.g. --set train.epochs=10 "
            f"--set input.size=128 (`busbench config show CONFIG` prints every setting)")


def warmup_warning(cfg: ExperimentConfig) -> str | None:
    """A warning when the linear warm-up lasts the whole training."""
    if cfg.schedule.warmup_epochs < cfg.train.epochs:
        return None
    return (f"warning: schedule.warmup_epochs {cfg.schedule.warmup_epochs} >= train.epochs {cfg.train.epochs}: "
            f"the learning rate rises for the whole run and never reaches optimizer.lr {cfg.optimizer.lr}; "
            f"set schedule.warmup_epochs below train.epochs (e.g. --set schedule.warmup_epochs=0)")


def run_warnings(cfg: ExperimentConfig) -> list[str]:
    """Every warning for this config, once per distinct line over the grid's cells."""
    lines = [line for cell in cfg.cells() for line in (default_run_warning(cell), warmup_warning(cell)) if line]
    return list(dict.fromkeys(lines))
