"""The files of the last ``busbench report`` in a folder, so that the next report into it starts clean.

Table, figure and statistics files are named after test-set keys and models; a report written over
an earlier one would otherwise leave the earlier tables beside the new ones (a model or test set
since removed, another dataset key), and a reader could take an old table for a current one. Each
report lists what it wrote in ``report_files.txt``; the next report into the folder first removes
exactly those files, never anything else the folder holds.
"""

from __future__ import annotations

from pathlib import Path

from busbench.layout.atomic import write_text
from busbench.log import logger

REPORT_FILES = "report_files.txt"
PAGE = "report.html"


def _files(out: Path) -> set[Path]:
    return {p for p in out.rglob("*") if p.is_file()} if out.is_dir() else set()


def clear_previous_report(out: Path) -> set[Path]:
    """Remove the files the last report listed; returns the files left (the user's), which the
    new report's record leaves out."""
    record = out / REPORT_FILES
    if record.is_file():
        root = out.resolve()
        emptied: set[Path] = set()
        for line in record.read_text().splitlines():
            path = out / line
            if line and path.is_file() and path.resolve().is_relative_to(root):
                path.unlink()
                emptied.add(path.parent)
        record.unlink()
        for folder in sorted(emptied, key=lambda f: len(f.parts), reverse=True):  # plots/ and the like, once empty
            if folder != out and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    elif (out / PAGE).is_file():
        logger.warning(f"{out} holds a report without {REPORT_FILES} (written by an older busbench): its files "
                       "stay, and tables of models or test sets no longer reported may remain; write into an empty "
                       "folder to be sure")
    return _files(out)


def record_report(out: Path, kept: set[Path]) -> None:
    """List every file under ``out`` that the report wrote (all but ``kept``)."""
    written = sorted(p.relative_to(out).as_posix() for p in _files(out) - kept if p.name != REPORT_FILES)
    write_text("\n".join(written) + "\n", out / REPORT_FILES)
