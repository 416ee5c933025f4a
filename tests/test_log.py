"""Wording helpers of log lines and messages."""

from __future__ import annotations

import pytest

from busbench.log import counted


@pytest.mark.parametrize(("count", "expected"), [(0, "0 files"), (1, "1 file"), (2, "2 files")])
def test_a_count_takes_its_noun_in_the_right_number(count: int, expected: str) -> None:
    assert counted(count, "file") == expected

