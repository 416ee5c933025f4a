"""The caption under each figure of a test set and of the ranks, on the report page and in
``plots/captions.md``: what it shows and which images it covers. The Dice figures cover the lesion
images only, as the paired tests and ranks do; a normal image's Dice is 1 or 0 and the accuracy table
counts it as a false alarm instead."""

from __future__ import annotations

from pathlib import Path

from busbench.layout.atomic import write_text

CAPTIONS_MD = "captions.md"
NORMAL_LEFT_OUT = "normal images left out (the accuracy table counts them as false alarms)"


def forest_caption(title: str, lesion: str) -> str:
    return (f"Mean Dice and its 95 % cluster bootstrap CI per model and row type on {title}: {lesion}; "
            f"{NORMAL_LEFT_OUT}.")


def boxplot_caption(title: str, lesion: str) -> str:
    return (f"Per-image Dice of each model's fold models (an image's score averaged over the k fold models) on "
            f"{title}: {lesion}; {NORMAL_LEFT_OUT}.")


def cost_caption(title: str, lesion: str) -> str:
    return (f"Mean Dice against GFLOPs and parameters per image on {title}: {lesion}; {NORMAL_LEFT_OUT}. Steps: the "
            "Pareto front of each panel.")


def qualitative_caption(title: str) -> str:
    return (f"The best, median and worst lesion image of {title} by the median Dice over models (normal images are "
            "not picked), with each model's prediction (red) and its Dice; the ground truth's outline (dashed green) "
            "is drawn over each prediction.")


def training_caption(model: str, title: str) -> str:
    return (f"Training of {model} on {title}: loss and selection metric per epoch on each fold's own training and "
            "validation images (no test image); one line and marker shape per fold (the legend says how many "
            "epochs a marker stands for); the star marks the epoch kept (best.pt).")


def ranks_caption(datasets: str) -> str:
    return (f"Average ranks by the fold models' mean Dice on each dataset's lesion images only ({datasets}); "
            "the red bar: the Nemenyi critical difference at 0.05 (two models further apart differ); the black bars "
            "join models whose average ranks differ by less than it (no significant difference among them).")


def matrix_caption() -> str:
    return ("Mean Dice of the fold models trained on each row's data and tested on each column's test set, on its "
            "lesion images only, with its 95 % cluster bootstrap CI, n and the test images dropped as seen in "
            "training.")


def write_captions(captions: dict[Path, str], path: Path) -> None:
    """``plots/captions.md``: each figure's file (its PNG; a PDF beside it) and caption, for a paper's figures."""
    lines = ["# Figure captions", ""] + [f"- `{figure.name}` (and `.pdf`): {caption}"
                                         for figure, caption in sorted(captions.items())]
    write_text("\n".join(lines) + "\n", path)
