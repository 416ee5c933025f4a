"""`busbench --help`, every command's help and the light commands start in a fraction of a second:
importing the command line loads none of the heavy libraries, each command imports what it runs in
its body. Checked in a fresh interpreter, as this one has loaded them for other tests."""

from __future__ import annotations

import json
import subprocess
import sys

from cli_runner import command_words

HEAVY = ("torch", "albumentations", "pandas", "scipy", "cv2")
LOADED = f"sorted(m for m in {HEAVY!r} if m in sys.modules)"

# Each command's words in argv[1]; prints their --help exit codes and the heavy libraries loaded after them all.
EVERY_HELP = f"""
import json, sys
from typer.testing import CliRunner
from busbench.cli.app import app
codes = [CliRunner().invoke(app, [*words, "--help"]).exit_code for words in json.loads(sys.argv[1])]
print(json.dumps([codes, {LOADED}]))
"""


def _python(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    assert _python(f"import busbench.cli.app, sys; print({LOADED})").strip() == "[]"


def test_every_command_help_exits_0_without_a_heavy_library() -> None:
    words = command_words()
    codes, loaded = json.loads(_python(EVERY_HELP, json.dumps(words)))
    assert dict(zip(map(" ".join, words), codes)) == {" ".join(w): 0 for w in words}
    assert loaded == []
