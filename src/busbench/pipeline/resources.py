"""What one fold job asks a cluster scheduler for: CPU cores and memory (``busbench jobs``).

A SLURM cluster that counts memory as a consumable resource (``SelectTypeParameters=CR_Core_Memory``,
common) gives a job that requests no memory the whole node's memory unless the site sets a
default, so the tasks of an array run one after another. Every job therefore asks for:

* cores: the training loop's torch threads (``train.threads``, 1 where unset) plus the loader
  workers (``train.workers``; ``auto`` takes the cores the job is given less one, at most
  ``MAX_AUTO_WORKERS``, so it counts as that many);
* memory, rounded up to whole GiB: ``PROCESS_GIB`` for the process (torch, the model, its optimiser
  and activations: the default U-Net at 256 px, batch 8, peaked at 2.1 GiB on the CPU; the rest is
  room for larger models and CUDA's host-side libraries), ``WORKER_GIB`` per loader worker (the
  training and the validation loader each keep ``train.workers`` processes, forked, so they share
  the parent's pages: 0.1 GiB of their own each on a tiny run), the cache (memory-mapped: its
  pages count against the job's memory) and the post-processing search's out-of-fold masks with
  their truths at the original size (two bytes a development pixel).

These are estimates: ``busbench jobs --cpus-per-task N --mem 16G`` replaces them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from busbench.config import ExperimentConfig
from busbench.data.prepared import PreparedData
from busbench.train.device import MAX_AUTO_WORKERS

PROCESS_GIB = 3.0
WORKER_GIB = 0.25
GIB = 1 << 30


@dataclass(frozen=True)
class JobResources:
    """Cores and memory (GiB) for a fold job, and how each was estimated."""

    cpus: int
    memory_gib: int
    cpus_estimate: str
    memory_estimate: str

    def most(self, other: JobResources) -> JobResources:
        """What a job of either kind needs: one array runs every line."""
        cores = self if self.cpus >= other.cpus else other
        memory = self if self.memory_gib >= other.memory_gib else other
        return JobResources(cores.cpus, memory.memory_gib, cores.cpus_estimate, memory.memory_estimate)


def fold_job_resources(cfg: ExperimentConfig, data: PreparedData) -> JobResources:
    """The cores and memory one fold job of this cell needs (see the module's docstring)."""
    workers = MAX_AUTO_WORKERS if cfg.train.workers == "auto" else int(cfg.train.workers)
    threads = cfg.train.threads or 1
    cache = (data.cache.images.nbytes + data.cache.masks.nbytes) / GIB
    development = data.manifest.frame.set_index("case_id").loc[data.development.case_ids()]
    masks = 2 * float((development["height"] * development["width"]).sum()) / GIB
    loaders = 2 * workers * WORKER_GIB
    return JobResources(
        threads + workers, math.ceil(PROCESS_GIB + loaders + cache + masks),
        f"{threads} torch thread(s) + {workers} loader worker(s) (train.workers: {cfg.train.workers})",
        f"{PROCESS_GIB:g} GiB for the process + {loaders:g} for the loader workers ({workers} for training, "
        f"{workers} for validation) + {cache:.1f} for the "
        f"cache of {data.manifest.dataset} + {masks:.1f} for the post-processing search's masks, rounded up")
