"""pdflatex for the tests that compile the report's LaTeX as a paper would (Debian's
texlive-latex-base and texlive-latex-recommended, which `.ci/run` installs): skipped where it is
absent, an error in CI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from absent import missing

# article's one-column page at 10 pt: \textwidth 345 pt; the tables set themselves at \small
DOCUMENT = """\\documentclass{{article}}
\\usepackage[utf8]{{inputenc}}
\\usepackage{{booktabs}}
\\hfuzz=0pt
\\begin{{document}}
\\input{{{body}}}
\\end{{document}}
"""


def pdflatex() -> str:
    found = shutil.which("pdflatex")
    if found is None:
        missing("pdflatex not found (Debian packages texlive-latex-base and texlive-latex-recommended)",
                "CI installs them in .ci/run")
    return found


def compile_log(tex: Path, work: Path) -> str:
    """The log of ``tex`` compiled in a minimal one-column article; a LaTeX error fails the test."""
    work.mkdir(parents=True, exist_ok=True)
    document = work / f"{tex.stem}_document.tex"
    document.write_text(DOCUMENT.format(body=tex.resolve().as_posix()))
    done = subprocess.run([pdflatex(), "-interaction=nonstopmode", "-halt-on-error", document.name], cwd=work,
                          capture_output=True, text=True, timeout=120)
    log = (work / f"{document.stem}.log").read_text(errors="replace")
    assert done.returncode == 0, f"{tex.name} does not compile:\n{log[-2000:]}"
    return log


def overfull_boxes(log: str) -> list[str]:
    """The lines of a pdflatex log that report a box wider than its line (a table wider than the page)."""
    return [line for line in log.splitlines() if line.startswith("Overfull \\hbox")]
