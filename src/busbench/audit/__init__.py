"""`busbench audit`: a data-quality report of a prepared dataset (duplicates, label conflicts,
burnt-in overlays, mask quality, split balance), so problems are seen before a benchmark runs."""
