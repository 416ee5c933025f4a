"""The `busbench` command line: one command per step of the data flow, registered here in the order
`busbench --help` lists them; each command group lives in its own module.

Errors the user can fix (``BusbenchError``) are printed as one message naming the file or setting
and the fix, with exit code 2 and no traceback.
"""

from __future__ import annotations

import shlex
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperOption

from busbench import interrupt
from busbench.cli import bundles, data_steps, exports, inference, listings, reporting, running, settings
from busbench.cli.registry import registry_app
from busbench.cli.verify import verify
from busbench.console import err_console
from busbench.errors import BusbenchError
from busbench.log import last_saved, setup_logging

INTERRUPTED = 130  # 128 + SIGINT
TERMINATED = 143  # 128 + SIGTERM: what a scheduler expects of a job it stopped


def _flags_show_no_value() -> None:
    """A flag takes no value, so its help row shows no type. typer 0.29's rich help shows one for
    every option, flags included (``--quiet <bool>``, even ``--help <bool>``), unlike click's plain
    help and earlier typer releases (which have no ``display_type_rich`` and need nothing here)."""
    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None:
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_value()
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Fair, reproducible benchmarking of breast-ultrasound segmentation models.")


@app.callback()
def options(
    quiet: Annotated[bool, typer.Option("--quiet", help="Print warnings and results only, no progress lines.")] = False,
    log_file: Annotated[
        Optional[Path], typer.Option("--log-file", help="Also write every progress line to this file.")
    ] = None,
) -> None:
    """Fair, reproducible benchmarking of breast-ultrasound segmentation models."""
    setup_logging(quiet, log_file)


for command in (data_steps.prepare, data_steps.split, data_steps.cache, data_steps.datasets, running.run,
                running.jobs, reporting.delta, listings.configs, running.demo, inference.predict, listings.models,
                listings.profile, reporting.report, reporting.audit, inference.score, bundles.bundle,
                bundles.leaderboard):
    app.command()(command)
app.command("export-test", hidden=True)(exports.export_test)  # the spelling before `export test`

export_app = typer.Typer(no_args_is_help=True, help="Export a prepared dataset and its split, or a run's models, "
                                                    "for other frameworks.")
export_app.command("test")(exports.export_test)
export_app.command("nnunet")(exports.export_nnunet_raw)
export_app.command("onnx")(exports.export_onnx)
app.add_typer(export_app, name="export")

config_app = typer.Typer(no_args_is_help=True,
                         help="Print a config resolved, or the schema; copy a shipped one to edit.")
config_app.command("show")(settings.config_show)
config_app.command("schema")(settings.config_schema)
config_app.command("copy")(settings.config_copy)
app.add_typer(config_app, name="config")
app.add_typer(registry_app, name="registry")
app.command()(verify)


def _interrupted_message(terminated: bool) -> str:
    how = "stopped by SIGTERM (a scheduler's time limit or pre-emption)" if terminated else "interrupted"
    again = f"{running.BUSBENCH} {shlex.join(sys.argv[1:])}"
    resume = interrupt.resume_note()
    if resume is None:
        return (f"{how}. Files are written whole or not at all, so none is left half-written; run the same "
                f"command again: {again}")
    saved = last_saved()
    what = f"The last thing saved: {saved}." if saved else "Nothing had been saved yet."
    return f"{how}. {what} {resume} Resume with the same command: {again}"


def main() -> None:
    """Console entry point: user errors become one clear message and exit code 2; Ctrl-C and
    SIGTERM say what was saved and how to resume (exit code 130 and 143)."""
    interrupt.install()
    try:
        app()
    except BusbenchError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except OSError as exc:  # a full disk or an unwritable folder met by a writer outside `layout`
        from busbench.layout.atomic import write_error  # numpy and pandas: not for every start

        error = write_error(exc, Path(exc.filename)) if exc.filename else None
        if error is None:
            raise
        err_console.print(f"error: {error}", markup=False, highlight=False)
        sys.exit(2)
    except SystemExit as exc:
        if exc.code == INTERRUPTED:  # typer turns KeyboardInterrupt (raised for both signals) into 130
            terminated = interrupt.received() == signal.SIGTERM
            err_console.print(_interrupted_message(terminated), markup=False, highlight=False)
            if terminated:
                sys.exit(TERMINATED)
        raise
