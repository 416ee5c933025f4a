"""The classes `busbench verify` sorts cases into (``busbench.data.registry.verify``), light to import: the
command line's texts name them without loading the matching (pandas, scipy)."""

EXACT, RESAMPLED, RENAMED, CHANGED, MISSING, EXTRA = "exact", "resampled", "renamed", "changed", "missing", "extra"
