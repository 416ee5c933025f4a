"""busbench: fair, reproducible benchmarking of breast-ultrasound segmentation models.

The Python API (``busbench.api``) is re-exported here and imported on first use, so that
``import busbench`` stays fast: ``busbench.load_run(path).predict(image)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from busbench.version import __version__

if TYPE_CHECKING:
    from busbench.api import create_model, list_models, load_run, load_split, score

__all__ = ["__version__", "create_model", "list_models", "load_run", "load_split", "score"]


def __getattr__(name: str) -> object:
    """``busbench.<API function>``, imported from ``busbench.api`` when first asked for."""
    if name in __all__:  # not __version__, which is set above
        from busbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'busbench' has no attribute {name!r}")
