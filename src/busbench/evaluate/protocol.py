"""What every table of a run must say about how it deviates from the fair protocol.

Here, below ``pipeline`` and ``report``, because both write tables of the same runs: the
pipeline when a run finishes, the report when it gathers finished runs.
"""

from __future__ import annotations

from dataclasses import asdict

from busbench.config import EvalConfig, InputConfig, ModelConfig, SplitConfig
from busbench.data.duplicates.links import DuplicateSettings
from busbench.data.split.record import IMAGE_LEVEL
from busbench.metrics.per_image import convention_notes

LEAKY_SPLIT_NOTE = ("LEAKY SPLIT: split: image-level (duplicates and patients not grouped; split.protocol="
                    "image_level), as published benchmarks split: test images can have copies in training")


def protocol_notes(split: SplitConfig, model: ModelConfig, evaluation: EvalConfig, input: InputConfig) -> list[str]:
    """Deviations from the fair protocol that the user asked for, stated in every table."""
    notes = []
    if split.protocol == IMAGE_LEVEL:
        notes.append(LEAKY_SPLIT_NOTE)
    else:
        notes += grouping_notes(split)
    if model.init_from is not None and model.init_from_test_overlap == "allow":
        notes.append(f"OVERRIDE: model.init_from weights ({model.init_from}) were not checked against the test "
                     "set (model.init_from_test_overlap=allow)")
    if evaluation.cross_datasets and evaluation.cross_dataset_overlap == "keep":
        notes.append("OVERRIDE: cross-dataset scores include test images the model trained on "
                     "(eval.cross_dataset_overlap=keep)")
    notes += convention_notes(evaluation.hd95_space, evaluation.hd95_empty, input.size)
    return notes


def grouping_notes(split: SplitConfig) -> list[str]:
    """A grouped split made with a duplicate search other than the calibrated one: fewer images may be kept
    together, so a table says so (a registry fixes every role, so its split made no search)."""
    if split.registry is not None or split.official:
        return []
    notes = []
    if not split.reviewed_links:
        notes.append("OVERRIDE: split.reviewed_links=false: busbench's reviewed duplicate pairs of BUSI and BUS-BRA "
                      "were not kept together, so some of them can cross sides")
    chosen, default = asdict(split.settings().duplicates), asdict(DuplicateSettings())
    changed = [f"split.{name}={value}" for name, value in chosen.items() if value != default[name]]
    if changed:
        notes.append(f"OVERRIDE: near-duplicate detector not the calibrated one ({', '.join(changed)}): other "
                     "images are linked and kept together than with the defaults")
    return notes


def folds_note(trained: int, folds: int) -> str:
    """The note of a cell whose split has more folds than were trained (``--fold``, or a time budget): its
    fold-model rows and ensemble are not the full cross-validation's."""
    return (f"{trained} of {folds} folds trained: the fold-model rows and the ensemble are of "
            f"{'that fold' if trained == 1 else 'those folds'} only")
