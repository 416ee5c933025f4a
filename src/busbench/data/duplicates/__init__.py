"""Duplicate detection: exact and near-duplicate images that must stay on one side of a split."""
