"""Splitting: the frozen held-out test set and cross-validation folds, with leakage groups kept whole."""
