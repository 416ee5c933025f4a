"""pdflatex for the tests that compile the report's LaTeX as a paper would (Debian's
texlive-latex-base and texlive-latex-recommended, which `.ci/run` installs): skipped where it is
absent, an error in CI."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from absent import missing

# the pages a paper \\inputs the tables into, at 10 pt with a 9 in text height: a 3.5 in column (one
# column of IEEE's two-column page, set as a one-column page of that width) and a 7 in two-column page
# (its column 3.35 in for <name>.tex, both columns for the table* of <name>_wide.tex)
COLUMN_PAGE = "\\documentclass{article}\n\\usepackage[textwidth=3.5in,textheight=9in]{geometry}\n"
TWO_COLUMN_PAGE = ("\\documentclass[twocolumn]{article}\n"
                   "\\usepackage[textwidth=7in,textheight=9in,columnsep=0.3in]{geometry}\n")
DOCUMENT = """{page}\\usepackage[utf8]{{inputenc}}
\\usepackage{{booktabs,graphicx}}
\\hfuzz=0pt
\\begin{{document}}
\\input{{{body}}}
\\end{{document}}
"""
PAGES = {"column": COLUMN_PAGE, "two-column": TWO_COLUMN_PAGE}


def pdflatex() -> str:
    found = shutil.which("pdflatex")
    if found is None:
        missing("pdflatex not found (Debian packages texlive-latex-base and texlive-latex-recommended)",
                "CI installs them in .ci/run")
    return found


def compile_log(tex: Path, work: Path, page: str = "column") -> str:
    """The log of ``tex`` compiled on ``page`` (``PAGES``); a LaTeX error fails the test."""
    work.mkdir(parents=True, exist_ok=True)
    document = work / f"{tex.stem}_{page}_document.tex"
    document.write_text(DOCUMENT.format(page=PAGES[page], body=tex.resolve().as_posix()))
    done = subprocess.run([pdflatex(), "-interaction=nonstopmode", "-halt-on-error", document.name], cwd=work,
                          capture_output=True, text=True, timeout=120)
    log = (work / f"{document.stem}.log").read_text(errors="replace")
    assert done.returncode == 0, f"{tex.name} does not compile:\n{log[-2000:]}"
    return log


def overfull_boxes(log: str) -> list[str]:
    """The lines of a pdflatex log that report a box wider than its line (a table wider than the page)
    or a float taller than the page."""
    return [line for line in log.splitlines() if line.startswith("Overfull \\hbox") or "Float too large" in line]


def pages(log: str) -> int:
    """How many pages the document ran to ("Output written on x.pdf (2 pages, ...)")."""
    found = re.search(r"Output written on .*?\((\d+) pages?", log.replace("\n", ""))
    return int(found.group(1)) if found else 0
