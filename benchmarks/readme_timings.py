"""The README's wall-clock timings, re-measured: `busbench demo` (the main job) and the test suite,
each as a fresh process on this machine, with the machine described beside the numbers.

The demo runs twice: as this CPU runs it, and as a CPU without native bf16 runs it (the CPU probe,
``busbench.train.device.cpu_bf16_features``, answers "none" in that process only), so one machine
gives both of the README's demo figures; each line says the precision the run recorded.

Usage: python benchmarks/readme_timings.py [--skip-tests]
Run it on an idle machine: both figures scale with free cores.
"""

from __future__ import annotations

import argparse
import json
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


# `busbench demo` in a process whose CPU probe finds no native bf16 (as on an AVX2-only CPU)
WITHOUT_BF16 = ("import sys; import busbench.train.device as device; device.cpu_bf16_features = lambda: []; "
                "from busbench.cli import main; sys.argv = ['busbench', *sys.argv[1:]]; main()")


def demo(out: Path, without_bf16: bool) -> str:
    runner = ["-c", WITHOUT_BF16] if without_bf16 else ["-m", "busbench"]
    seconds, last = timed([sys.executable, *runner, "demo", "--out", str(out)], REPO)
    recorded = [json.loads(p.read_text()).get("precision") for p in out.rglob("environment.json")]
    label = "busbench demo, native bf16 hidden" if without_bf16 else "busbench demo"
    return f"{label}: {seconds:.1f} s wall, precision {', '.join(sorted(set(map(str, recorded))))} ({last})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-tests", action="store_true", help="time the demo only")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for without_bf16 in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            print(demo(Path(folder) / "demo", without_bf16), flush=True)
    if not args.skip_tests:
        seconds, last = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "auto",
                               "--dist", "loadfile"], REPO)  # as `make test` runs it
        print(f"test suite: {seconds:.1f} s wall ({last})")


if __name__ == "__main__":
    main()
