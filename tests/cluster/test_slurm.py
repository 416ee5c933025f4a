"""The README's cluster recipe on a real single-node SLURM (`.ci/slurm_setup.sh` installs and
starts Debian's slurmctld, slurmd and munge; `.ci/run` calls it): `busbench jobs` then the
README's `sbatch --array` line, two fold jobs of one cell running at once, must finish the cell."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TINY = ["name=tiny", "data.dataset=synthetic", "data.options.count=30", "data.options.size=40", "split.folds=2",
        "input.size=32", "model.kwargs.base_channels=4", "train.epochs=2", "train.batch_size=8"]
# the README's line (section "Cluster"), run as written, with --wait so the test can check the result
README_ARRAY = """sbatch --wait --output=slurm-%A_%a.out --array=1-$(wc -l < jobs.txt) \
--wrap 'sed -n "${SLURM_ARRAY_TASK_ID}p" jobs.txt | bash'"""


def _slurm_ready() -> str | None:
    """Why the test cannot run here, or None."""
    if shutil.which("sbatch") is None:
        return "sbatch not found: SLURM is not installed (run .ci/slurm_setup.sh as root, as .ci/run does)"
    state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, check=False)
    if state.returncode != 0 or not {"idle", "mixed"} & set(state.stdout.split()):
        return f"SLURM has no idle node (sinfo: {state.stdout.strip() or state.stderr.strip()}); run .ci/slurm_setup.sh"
    return None


@pytest.mark.skipif(_slurm_ready() is not None, reason=str(_slurm_ready()))
def test_the_readme_sbatch_array_recipe_finishes_a_cell(tmp_path: Path) -> None:
    config = tmp_path / "experiment.yaml"
    config.write_text("{}\n")
    overrides = [a for item in [*TINY, f"output_dir={tmp_path / 'out'}"] for a in ("--set", item)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    jobs = subprocess.run([sys.executable, "-m", "busbench", "jobs", str(config), *overrides], cwd=tmp_path,
                          capture_output=True, text=True, env=env, check=True)
    (tmp_path / "jobs.txt").write_text(jobs.stdout)
    assert len(jobs.stdout.splitlines()) == 2
    done = subprocess.run(["bash", "-c", README_ARRAY], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("slurm-*.out")))
    assert done.returncode == 0, done.stderr + logs
    assert "Traceback" not in logs
    (cell,) = (tmp_path / "out" / "tiny").glob("*/*")
    assert (cell / "summary.csv").is_file() and (cell / "ensemble_metrics.csv").is_file(), logs
    # the two array tasks ran at once: each fold started before the other finished
    started = {k: (cell / f"fold-{k}" / "provenance.json").stat().st_mtime for k in (1, 2)}
    finished = {k: (cell / f"fold-{k}" / "done.json").stat().st_mtime for k in (1, 2)}
    assert started[1] < finished[2] and started[2] < finished[1], (started, finished)


@pytest.mark.skipif(_slurm_ready() is not None, reason=str(_slurm_ready()))
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
