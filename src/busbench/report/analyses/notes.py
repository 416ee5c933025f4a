"""The notes under the analysis tables and figures, on the report page and under their Markdown copies
alike. Each says which test images it covers (the lesion images, the normal images, or all of them),
for the main table scores segmentation on lesion images and counts normal images apart, and an
analysis read beside it must not be taken to cover the same images when it does not."""

from __future__ import annotations

SUBGROUP_CAPTION = ("Dice and HD95 (px) of the lesion images by subgroup: mean [95 % cluster bootstrap CI]; "
                    "lesion size: tertiles of the true lesion area over the test set's lesion images")
SUBGROUP_NOTE = ("Images: lesion images only (a normal image has no lesion to segment); n: the subgroup's lesion "
                 "images. Fold models: each image's score averaged over the k fold models. " + SUBGROUP_CAPTION + ".")
SUBGROUP_COMPARISONS_NOTE = ("Images: lesion images only, each subgroup's own. Paired tests within each subgroup: "
                             "Wilcoxon on per-group means, Holm over the subgroups and pairs of each factor and "
                             "metric.")
DETECTION_NOTE = ("Images: sensitivity over the lesion images, specificity over the normal images (the two counts in "
                  "the table), AUROC over all test images. Image-level lesion detection. Prediction: the scored mask "
                  "holds any lesion pixel; specificity = 1 - false-alarm rate. Score: the image's highest lesion "
                  "probability (before post-processing), AUROC. Fold models: mean over the fold models. 95 % CIs: "
                  "cluster bootstrap over patients/duplicate groups (10 000 draws; for the AUROC the same draws as "
                  "image weights, not DeLong).")
MORPHOLOGY_IMAGES = "Images: lesion images only; their agreement over those whose prediction is not empty."
MORPHOLOGY_NOTE = (MORPHOLOGY_IMAGES + " Pairs: how many, mean over fold models. Lesion shape, true against "
                   "predicted: depth-to-width = height/width of the lesion's bounding extent (rows/columns); "
                   "circularity 4πA/P²; elongation = major/minor axis of the moment ellipse; area in pixels; centroid "
                   "error in pixels. Correlations, MAE and κ: mean over fold models. Taller than wide: depth-to-width "
                   "> 1. 95 % CIs: cluster bootstrap over patients/duplicate groups; for the correlations and κ each "
                   "draw's value per fold model on the drawn images, averaged over the folds.")
CALIBRATION_IMAGES = "Images: every pixel of all test images, lesion and normal."
CALIBRATION_NOTE = (CALIBRATION_IMAGES + " Pixel-level calibration of the ensemble's probabilities at the original "
                    "image size: ECE over 10 equal-width bins (each bin's mean probability against its lesion share, "
                    "weighted by its pixels), Brier score = mean (p - y)². 95 % CIs: cluster bootstrap over "
                    "patients/duplicate groups.")
ANALYSIS_COMPARISONS_NOTE = ("Images: each test those of its measure: detection, sensitivity on the lesion images, "
                             "specificity on the normal images, AUROC on all; morphology, the lesion images whose "
                             "prediction is not empty; calibration, every pixel of all test images. Wilcoxon on unit "
                             "means or paired cluster bootstrap, Holm within each analysis and row type. "
                             "Difference A - B (units): "
                             "the mean over the independent units (patients/duplicate groups) of each unit's mean, "
                             "what the Wilcoxon test compares; (images): the mean over images, each once, the "
                             "difference of the per-image rates the detection table shows. A figure of the whole "
                             "test set (AUROC, ECE, Brier): both are the difference of the figures.")

# the note under each analysis file's Markdown copy (``<name>.md``)
NOTES = {"subgroups": SUBGROUP_NOTE, "subgroup_comparisons": SUBGROUP_COMPARISONS_NOTE, "detection": DETECTION_NOTE,
         "morphology": MORPHOLOGY_IMAGES + " A row per lesion image and prediction set; a missed lesion has no "
                                           "predicted shape (empty cells).",
         "morphology_summary": MORPHOLOGY_NOTE, "calibration": CALIBRATION_NOTE,
         "calibration_bins": CALIBRATION_IMAGES + " Per model and bin: its pixels, mean probability and lesion share.",
         "analysis_comparisons": ANALYSIS_COMPARISONS_NOTE}


def subgroup_figure_caption(title: str, lesion_images: int) -> str:
    return (f"Dice by subgroup on {title}: lesion images only, n = {lesion_images}; mean and 95 % cluster bootstrap "
            "CI of the fold models.")


def reliability_caption(title: str, images: int) -> str:
    return (f"Reliability diagram of the ensemble on {title}: every pixel of all {images} test images, lesion and "
            "normal; each bin's lesion share against its mean probability.")
