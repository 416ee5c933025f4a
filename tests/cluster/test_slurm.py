"""The cluster recipe on a real single-node SLURM (`.ci/slurm_setup.sh` installs and starts Debian's
slurmctld, slurmd and munge, with memory a consumable resource as on many clusters; `.ci/run` calls
it): `busbench jobs` then the `sbatch --array` line it prints, two fold jobs of one cell running at
once, must finish the cell."""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TINY = ["name=tiny", "data.dataset=synthetic", "data.options.count=30", "data.options.size=40", "split.folds=2",
        "input.size=32", "model.kwargs.base_channels=4", "train.epochs=2", "train.batch_size=8"]


@functools.cache
def _slurm_ready() -> str | None:
    """Why the tests cannot run here, or None. Asked once per process: where slurmctld is down, sinfo
    retries for about 9 s before it says so."""
    if shutil.which("sbatch") is None:
        return "sbatch not found: SLURM is not installed (run .ci/slurm_setup.sh as root, as .ci/run does)"
    state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, check=False)
    if state.returncode != 0 or not {"idle", "mixed"} & set(state.stdout.split()):
        return f"SLURM has no idle node (sinfo: {state.stdout.strip() or state.stderr.strip()}); run .ci/slurm_setup.sh"
    return None


@pytest.fixture
def slurm() -> None:
    """Skips, saying why, where no SLURM answers (asked when a test runs, not at collection)."""
    reason = _slurm_ready()
    if reason is not None:
        pytest.skip(reason)


def _counts_memory() -> None:
    """The tests below mean something only where a job without --mem takes the whole node."""
    config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=True).stdout
    assert "CR_CORE_MEMORY" in config, "SLURM does not count memory (SelectTypeParameters): run .ci/slurm_setup.sh"


def _overlap(spans: list[tuple[float, ...]]) -> bool:
    """Whether two (start, end) spans overlap: each started before the other ended."""
    (start_a, end_a), (start_b, end_b) = spans
    return start_a < end_b and start_b < end_a


@pytest.mark.usefixtures("slurm")
def test_array_tasks_without_mem_take_the_whole_node_one_after_another(tmp_path: Path) -> None:
    """The failure the recipe's --mem avoids: with memory counted, tasks that ask for none run one by one."""
    _counts_memory()
    wrap = "date +%s.%N; sleep 3; date +%s.%N"
    spans = {}
    for name, memory in (("without", []), ("with", ["--mem=1G"])):
        subprocess.run(["sbatch", "--wait", "--array=1-2", "--cpus-per-task=1", *memory,
                        f"--output={name}-%a.out", "--wrap", wrap], cwd=tmp_path, capture_output=True, check=True,
                       timeout=120)
        spans[name] = [tuple(map(float, (tmp_path / f"{name}-{k}.out").read_text().split())) for k in (1, 2)]
    assert not _overlap(spans["without"]), spans
    assert _overlap(spans["with"]), spans


@pytest.mark.usefixtures("slurm")
def test_the_printed_sbatch_array_recipe_runs_two_folds_at_once_and_finishes_the_cell(tmp_path: Path) -> None:
    _counts_memory()
    config = tmp_path / "experiment.yaml"
    config.write_text("{}\n")
    settings = [*TINY, "train.workers=0", "train.threads=1", f"output_dir={tmp_path / 'out'}"]
    overrides = [a for item in settings for a in ("--set", item)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    jobs = subprocess.run([sys.executable, "-m", "busbench", "jobs", str(config), *overrides], cwd=tmp_path,
                          capture_output=True, text=True, env=env, check=True)
    (tmp_path / "jobs.txt").write_text(jobs.stdout)
    assert len(jobs.stdout.splitlines()) == 2
    (recipe,) = [line.strip() for line in jobs.stderr.splitlines() if line.strip().startswith("sbatch ")]
    # cores: 1 torch thread and no loader worker; memory: 3 GiB for the process and a tiny cache, rounded up
    assert "--array=1-2 --cpus-per-task=1 --mem=4G " in recipe, recipe
    done = subprocess.run(["bash", "-c", recipe.replace("sbatch ", "sbatch --wait ", 1)], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=900, check=False)
    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("slurm-*.out")))
    assert done.returncode == 0, done.stderr + logs
    assert "Traceback" not in logs
    (cell,) = (tmp_path / "out" / "tiny").glob("*/*")
    assert (cell / "summary.csv").is_file() and (cell / "ensemble_metrics.csv").is_file(), logs
    # the two array tasks ran at once: each fold started before the other finished
    spans = [tuple((cell / f"fold-{k}" / name).stat().st_mtime for name in ("provenance.json", "done.json"))
             for k in (1, 2)]
    assert _overlap(spans), spans


@pytest.mark.usefixtures("slurm")
def test_a_slurm_time_limit_stops_a_run_with_the_command_that_resumes(tmp_path: Path) -> None:
    """SLURM's time limit (its shortest is one minute) sends SIGTERM to every process of the job."""
    config = tmp_path / "experiment.yaml"
    config.write_text("{}\n")
    overrides = [a for item in [*TINY, "train.epochs=100000", "train.patience=", f"output_dir={tmp_path / 'out'}"]
                 for a in ("--set", item)]
    line = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "busbench", "run", str(config), "--fold", "1",
                                             *overrides])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(["sbatch", "--wait", "--time=1", "--output=limit.out", "--wrap", line], cwd=tmp_path,
                   capture_output=True, text=True, env=env, timeout=300, check=False)
    log = " ".join((tmp_path / "limit.out").read_text().split())
    assert "DUE TO TIME LIMIT" in log and "Traceback" not in log
    assert "stopped by SIGTERM" in log and "fold-1/last.pt (fold 1, epoch" in log
    assert "Resume with the same command:" in log
