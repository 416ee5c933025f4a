"""The `busbench` command line (``busbench = "busbench.cli:main"``): the app and its entry point in
``app.py``, one module per command group, and the options they share in ``options.py``."""

from busbench.cli.app import app, main
from busbench.cli.options import SHIPPED_CONFIGS

__all__ = ["SHIPPED_CONFIGS", "app", "main"]
