"""The metrics' settings, light to import: the command line's option types and defaults name them
without loading the metrics (numpy, scipy)."""

from __future__ import annotations

from typing import Literal

HD95Convention = Literal["pooled", "max-directed"]  # ``metrics.surface`` computes both
DEFAULT_NSD_TOLERANCE = 2.0  # pixels of the original image; the default of ``eval.nsd_tolerance``
