"""The `busbench` command line (``busbench = "busbench.cli:main"``): the app and its entry point in
``app.py``, one module per command group, and the options they share in ``options.py``.

Each command imports what it runs inside its body, so that `busbench --help` and the light commands start
without torch, pandas or OpenCV (``tests/cli/test_start_time.py``); what signatures and help texts name
comes from light modules (``cli.options``, ``data.choices``, ``metrics.conventions``)."""

from busbench.cli.app import app, main
from busbench.cli.options import SHIPPED_CONFIGS

__all__ = ["SHIPPED_CONFIGS", "app", "main"]
