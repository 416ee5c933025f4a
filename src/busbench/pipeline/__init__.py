"""`busbench run`: prepare -> split -> cache -> train folds -> score each on the test set -> aggregate.

``run`` orders the steps; ``prepared`` makes a dataset ready (manifest, frozen split, cache),
``checks`` refuses a cell made with other settings or on another split before any work, ``folds``
trains and scores one fold model, ``ensemble`` chooses post-processing and scores the fold
ensemble (and other datasets' test sets), ``tables`` writes the summary tables. Where each file
goes is ``busbench.layout``'s.

A fold is finished when its ``done.json`` exists; it is written last and atomically, so a rerun
skips finished folds and resumes an interrupted one from its ``last.pt``. Once every fold is done,
post-processing is chosen on the out-of-fold predictions of the development cases, and the fold
ensemble is scored on the test set, with and without it.

Every artefact records its provenance (``busbench.data.provenance``). Before a cell does any work,
each artefact already in it is checked against the current split, so a fold trained before a
re-split is refused at once, with the fold named, instead of being reused.
"""

from busbench.data.prepared import PreparedData
from busbench.pipeline.ensemble import choose_cell_postprocessing, finish_cell, score_cross_datasets
from busbench.pipeline.folds import load_fold_model, load_fold_models, run_fold
from busbench.pipeline.prepared import prepare_data
from busbench.pipeline.run import cell_id, plan_jobs, run_cell, run_experiment
from busbench.pipeline.tables import aggregate_cell, key_legend

__all__ = [
    "PreparedData", "aggregate_cell", "cell_id", "choose_cell_postprocessing", "finish_cell", "key_legend",
    "load_fold_model", "load_fold_models", "plan_jobs", "prepare_data", "run_cell", "run_experiment", "run_fold",
    "score_cross_datasets",
]
