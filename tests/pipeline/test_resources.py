"""The cores and memory a fold job asks a scheduler for, from the settings and the prepared data."""

from __future__ import annotations

import math
from pathlib import Path

from busbench.config import load_config
from busbench.pipeline import prepare_data
from busbench.pipeline.resources import PROCESS_GIB, WORKER_GIB, JobResources, fold_job_resources


def test_cores_are_threads_plus_workers_and_memory_adds_up(tmp_path: Path) -> None:
    cfg = load_config(None, [f"output_dir={tmp_path}", "data.dataset=synthetic", "data.options.count=24",
                             "data.options.size=40", "split.folds=2", "input.size=32", "train.threads=2",
                             "train.workers=3"])
    data = prepare_data(cfg)
    needs = fold_job_resources(cfg, data)
    assert needs.cpus == 2 + 3
    cache_bytes = (data.cache.images.nbytes + data.cache.masks.nbytes)
    assert cache_bytes == 24 * 32 * 32 * 2  # one grey channel and the mask, one byte each
    development = len(data.development.case_ids())
    assert 0 < development < 24
    pixels = development * 40 * 40
    assert needs.memory_gib == math.ceil(PROCESS_GIB + 2 * 3 * WORKER_GIB + (cache_bytes + 2 * pixels) / 2**30) == 5
    auto = fold_job_resources(cfg.model_copy(update={"train": cfg.train.model_copy(update={"workers": "auto"})}), data)
    assert auto.cpus == 2 + 8 and "(train.workers: auto)" in auto.cpus_estimate and auto.memory_gib == 8


def test_one_array_asks_for_the_most_any_of_its_jobs_needs() -> None:
    small, wide, big = JobResources(2, 4, "a", "b"), JobResources(9, 4, "c", "d"), JobResources(1, 12, "e", "f")
    assert small.most(wide).most(big) == JobResources(9, 12, "c", "f")
