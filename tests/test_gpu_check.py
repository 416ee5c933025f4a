"""benchmarks/gpu_check.sh fits a short GPU slot and what comes back from it: its parts, their times,
arguments, the wheels it installs, and its plumbing (setup, verdicts, summary, tarball) run on the CPU."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
FIRST = ["resume", "predict", "amp", "replicas", "cudatests"]
SECOND = ["loader", "profile", "compile", "train"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="gpu_check.sh is a bash script")


def _run(*args: str, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False,
                          env=env)


def _estimates(stdout: str) -> dict[str, int]:
    return {name: int(seconds) for name, seconds in re.findall(r"^  (\w+) +~ *(\d+) s", stdout, flags=re.MULTILINE)}


@pytest.mark.parametrize(("group", "parts", "limit"), [("first", FIRST, 360), ("second", SECOND, 480)])
def test_each_group_lists_its_parts_in_order_within_its_limit(tmp_path: Path, group: str, parts: list[str],
                                                              limit: int) -> None:
    done = _run("--dry-run", "--part", group, str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    seconds = _estimates(done.stdout)
    total = seconds.pop("total")
    assert list(seconds) == ["setup", *parts]
    assert total == sum(seconds.values()) <= limit and f"(limit {limit} s)" in done.stdout
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_the_first_group_is_the_default_and_parts_are_chosen_by_name() -> None:
    assert list(_estimates(_run("--dry-run").stdout))[1:-1] == FIRST
    assert list(_estimates(_run("--dry-run", "--part", "all").stdout))[1:-1] == FIRST + SECOND
    assert list(_estimates(_run("--dry-run", "--part", "train", "--part=amp").stdout)) == ["setup", "train", "amp",
                                                                                          "total"]
    bad = _run("--dry-run", "--part", "gpu")
    assert bad.returncode == 2 and "unknown part 'gpu'; choose from: first second all resume" in bad.stderr
    assert _run("--dry-run", "--part", "setup").returncode == 2
    assert _run("--dry-run", "--part").returncode == 2
    assert "--device takes cuda or cpu" in _run("--device", "tpu").stderr
    assert "unknown option '--fast'" in _run("--fast").stderr
    assert _run("--dry-run", "a", "b", "c").returncode == 2
    assert "--part NAME" in _run("--help").stdout


def test_plumbing_on_the_cpu_gives_three_files_a_verdict_per_part_and_a_failing_exit(tmp_path: Path) -> None:
    """setup passes on this machine; replicas needs CUDA, so it FAILs and the script exits 1."""
    out = tmp_path / "out"
    done = _run("--device", "cpu", "--wheels", str(tmp_path / "none"), "--part", "replicas", str(out), timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["details.tar.gz", "gpu_check.log", "summary.csv"]
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["part"]) == ["setup", "replicas"] and list(summary["verdict"]) == ["PASS", "FAIL"]
    assert summary["detail"].iloc[1] == "needs a CUDA device (parallel_apply runs replicas on GPUs)"
    log = (out / "gpu_check.log").read_text()
    assert re.search(r"^PASS setup \d+ requirements importable \(\d+ s\)$", log, flags=re.MULTILINE)
    assert "FAIL replicas needs a CUDA device" in log and "some part FAILED" in log
    with tarfile.open(out / "details.tar.gz") as tar:
        assert {"./setup.log", "./replicas.log", "./nvidia-smi.txt"} <= set(tar.getnames())


def test_wheels_that_do_not_install_stop_the_check_at_setup(tmp_path: Path) -> None:
    wheels, out = tmp_path / "wheels", tmp_path / "out"
    wheels.mkdir()
    (wheels / "broken-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    done = _run("--device", "cpu", "--wheels", str(wheels), "--part", "replicas", str(out), timeout=120)
    assert done.returncode == 1
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["part"]) == ["setup"] and summary["detail"].iloc[0].startswith("pip could not install")


def test_the_wheels_cover_every_runtime_requirement_the_torch_image_lacks() -> None:
    """gpu_wheels.txt pins what the GPU image lacks and names the rest as the image's: a new
    requirement in pyproject.toml must land in one of the two."""
    text = (ROOT / "benchmarks" / "gpu_wheels.txt").read_text()
    pinned = {line.split("==")[0] for line in text.splitlines() if "==" in line and not line.startswith("#")}
    said = " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
    image = set(re.search(r"The image's (.+?) are used", said, flags=re.S).group(1).replace(" and ", ", ")  # type: ignore[union-attr]
                .replace(",", " ").split())
    needed = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower()
              for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert needed - {"torch"} <= pinned | image, needed - pinned - image - {"torch"}
    assert "torch" not in pinned and {"pydantic", "albumentations", "openpyxl", "albucore"} <= pinned
