"""The wheel a user installs (``pip install busbench``, not editable) holds every file the code reads
beside its modules (shipped configs, the schema, split registries, reviewed duplicate lists) and
nothing of the tests or benchmarks: built here from a copy of the package, as pip builds it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "src" / "busbench"
pytestmark = pytest.mark.slow  # pip builds a wheel: 5 s on 2 cores, 11 s while they are busy


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy(REPO / name, source / name)
    # the tests and benchmarks beside it, as in a checkout, so that a wheel picking them up fails below
    for folder in ("src/busbench", "tests", "benchmarks"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = out.glob("busbench-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_the_wheel_holds_every_file_of_the_package(wheel_files: set[str]) -> None:
    """A data file the package's pyproject patterns miss works in a checkout and is absent once installed."""
    package = {path.relative_to(PACKAGE.parent).as_posix() for path in PACKAGE.rglob("*")
               if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith(".")}
    assert sorted(package - wheel_files) == [], "add these to [tool.setuptools.package-data] in pyproject.toml"


def test_the_wheel_holds_only_the_package(wheel_files: set[str]) -> None:
    """No tests, benchmarks or their data: they import test-only libraries and read the real datasets."""
    tops = {name.split("/")[0] for name in wheel_files}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"busbench"}


def test_the_wheel_carries_the_licence(wheel_files: set[str]) -> None:
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel_files)
