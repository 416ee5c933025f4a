"""The manifest: a case's row by its id."""

from __future__ import annotations

import pandas as pd
import pytest

from busbench.data.manifest import case_row
from busbench.errors import BusbenchError


def test_a_case_row_is_found_by_id_and_a_repeated_id_is_named() -> None:
    rows = pd.DataFrame({"case_id": ["a", "b", "b"], "width": [10, 20, 30]}).set_index("case_id", drop=False)
    assert case_row(rows, "a")["width"] == 10
    with pytest.raises(BusbenchError, match="case id 'b' is listed 2 times in the manifest"):
        case_row(rows, "b")
