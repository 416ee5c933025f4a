"""The commit recorded in environment.json and bundles is busbench's own, never another project's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import busbench.environment as environment_module
from busbench.environment import git_commit


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=folder,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _project(folder: Path) -> None:
    """A user's own git project with one commit, its .venv/ ignored."""
    _git(folder, "init", "-q")
    (folder / ".gitignore").write_text(".venv/\n")
    _git(folder, "add", ".gitignore")
    _git(folder, "commit", "-q", "-m", "my analysis")


def test_an_installed_busbench_inside_another_project_records_no_commit(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path)
    installed = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "busbench"
    installed.mkdir(parents=True)
    (installed / "environment.py").write_text("")
    monkeypatch.setattr(environment_module, "__file__", str(installed / "environment.py"))
    assert git_commit() is None


def test_a_checkout_of_busbench_records_its_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: where environment.py is tracked (an editable install of a checkout), HEAD is recorded."""
    _project(tmp_path)
    source = tmp_path / "src" / "busbench"
    source.mkdir(parents=True)
    (source / "environment.py").write_text("")
    _git(tmp_path, "add", "src")
    _git(tmp_path, "commit", "-q", "-m", "busbench")
    monkeypatch.setattr(environment_module, "__file__", str(source / "environment.py"))
    assert git_commit() == _git(tmp_path, "rev-parse", "HEAD")


def test_outside_any_repository_there_is_no_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment_module, "__file__", str(tmp_path / "environment.py"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_commit() is None
