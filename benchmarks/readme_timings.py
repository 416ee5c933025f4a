"""The README's wall-clock timings, re-measured: `busbench demo` (the main job) and the test suite,
each as a fresh process on this machine, with the machine described beside the numbers.

Usage: python benchmarks/readme_timings.py [--skip-tests]
Run it on an idle machine: both figures scale with free cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def machine() -> str:
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.is_file() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                 platform.processor())
    return (f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}")


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-tests", action="store_true", help="time the demo only")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        seconds, last = timed([sys.executable, "-m", "busbench", "demo", "--out", str(Path(folder) / "demo")], REPO)
    print(f"busbench demo: {seconds:.1f} s wall ({last})")
    if not args.skip_tests:
        seconds, last = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "auto",
                               "--dist", "loadfile"], REPO)  # as `make test` runs it
        print(f"test suite: {seconds:.1f} s wall ({last})")


if __name__ == "__main__":
    main()
