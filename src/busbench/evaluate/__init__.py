"""Evaluation: per-image metrics, inference on cached inputs, final scoring on the test set."""
