"""What `prepare` dropped or fixed, file by file, so nothing bad in a dataset passes silently."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

Action = Literal["dropped", "fixed"]


@dataclass(frozen=True)
class Problem:
    """One file's problem, what was done about it and why."""

    file: str
    action: Action
    reason: str


@dataclass
class ProblemLog:
    """Collects problems while a dataset is read; written beside the manifest and summarised."""

    problems: list[Problem] = field(default_factory=list)

    def drop(self, file: Path | str, reason: str) -> None:
        self.problems.append(Problem(str(file), "dropped", reason))

    def fix(self, file: Path | str, reason: str) -> None:
        self.problems.append(Problem(str(file), "fixed", reason))

    def counts(self) -> Counter[tuple[str, str]]:
        """How often each (action, kind of reason) occurred; the kind is the reason up to ':'."""
        return Counter((p.action, p.reason.split(":")[0]) for p in self.problems)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(p.file, p.action, p.reason) for p in self.problems], columns=["file", "action", "reason"]
        )
