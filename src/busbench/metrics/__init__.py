"""Segmentation metrics of masks, numbers in and numbers out: overlap (one Dice and IoU for training
and scoring), surface distance (HD95) and lesion shape. Below ``train`` and ``evaluate``, which both use it."""
