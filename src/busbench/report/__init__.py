"""Reporting: ``busbench report`` (``build.py`` orders its steps) and ``busbench delta``
(``tables/fairness_delta.py``); the sub-packages hold statistics, tables, figures, analyses and the page,
in the floors ARCHITECTURE.md lists."""
