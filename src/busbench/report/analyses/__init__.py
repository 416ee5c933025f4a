"""The analyses beyond the main table (subgroups, detection, morphology, calibration) and their paired
model-vs-model tests; ``analysis_files`` makes and writes them all."""
