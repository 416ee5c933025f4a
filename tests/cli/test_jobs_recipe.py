"""`busbench jobs` prints, beside its job lines, the `sbatch --array` line that runs them, asking for
each job's cores and memory: without --mem, a SLURM that counts memory runs the tasks one by one."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli

ARRAY = """--output=slurm-%A_%a.out --wrap 'sed -n "${SLURM_ARRAY_TASK_ID}p" jobs.txt | bash'"""


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "grid.yaml"
    config.write_text(f"name: g\noutput_dir: {tmp_path / 'runs'}\n"
                      "data: {dataset: synthetic, options: {count: 24, size: 40}}\nsplit: {folds: 2}\n"
                      "input: {size: 32}\nmodel: {kwargs: {base_channels: 4}}\n"
                      "train: {epochs: 1, batch_size: 8, workers: 2, threads: 3}\n")
    return config


def test_jobs_prints_the_sbatch_line_with_cores_and_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert run_cli(monkeypatch, "jobs", str(config)) == 0
    printed = capsys.readouterr()
    assert len(printed.out.splitlines()) == 2 and "--array" not in printed.out  # stdout: the job lines only
    err = " ".join(printed.err.split())
    # 3 threads + 2 workers; 3 GiB + 2 loaders x 2 workers x 0.25 GiB + a cache and masks of kilobytes, rounded up
    assert f"sbatch --array=1-2 --cpus-per-task=5 --mem=5G {ARRAY}" in err
    assert "cores: 3 torch thread(s) + 2 loader worker(s) (train.workers: 2); memory: 3 GiB for the process" in err
    assert run_cli(monkeypatch, "jobs", str(config), "--cpus-per-task", "4", "--mem", "16G") == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"sbatch --array=1-2 --cpus-per-task=4 --mem=16G {ARRAY}" in err
    assert "cores: 4 (--cpus-per-task); memory: 16G (--mem)" in err


def test_a_bad_mem_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "jobs", str(_config(tmp_path)), "--mem", "16GB") == 2
    err = capsys.readouterr().err
    assert "--mem 16GB: not a SLURM memory size" in err and "e.g. --mem 16G" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
    assert run_cli(monkeypatch, "jobs", str(_config(tmp_path)), "--mem", "16") == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--mem 16: SLURM reads a number without a unit as megabytes (16 MB), too little for a fold; write the " \
           "unit, e.g. --mem 16G" in err
