"""Running the `busbench` command line in-process, as a user would from a shell."""

from __future__ import annotations

import re
import sys

import pytest
import typer.main

from busbench.cli import main
from busbench.cli.app import app


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run ``busbench ARGS``; returns its exit code."""
    monkeypatch.setattr(sys, "argv", ["busbench", *args])
    try:
        main()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def command_words() -> list[tuple[str, ...]]:
    """``()`` (busbench itself) and the words of every command and sub-command (``("export", "onnx")``)."""
    found: list[tuple[str, ...]] = []

    def walk(command: object, words: tuple[str, ...]) -> None:
        found.append(words)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*words, name))

    walk(typer.main.get_command(app), ())
    return found


def command_options(*words: str) -> set[str]:
    """Every option spelling of ``busbench WORDS`` (``export onnx``: a sub-command's words), --help included."""
    command = typer.main.get_command(app)
    for word in words:
        command = command.commands[word]  # type: ignore[attr-defined]
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)} | {"--help"}


def named_options(text: str) -> set[str]:
    """The options a message names (``--allow-partial``), outside the commands it quotes in backticks
    (`busbench run CONFIG --fold 1`, another command's)."""
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", re.sub(r"`[^`]*`", "", text)))
