"""audit.html is self-contained (nothing fetched from outside) and has every section."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from busbench.audit.page import SECTIONS


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href"):
                self.references.append((tag, value or ""))
            if name == "id":
                self.ids.append(value or "")
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def test_page_is_self_contained_and_names_each_section(audited: tuple[Path, dict[str, str]]) -> None:
    out, _ = audited
    page = _Collect()
    page.feed((out / "audit.html").read_text())
    assert page.ids == list(SECTIONS)
    assert page.headings == list(SECTIONS.values())
    assert all(v.startswith("data:image/png;base64,") for _, v in page.references)
    sheets = sorted((out / "sheets").glob("*.png"))
    # one sheet per duplicate group, conflict, overlay row and mask finding, all embedded
    assert len(page.references) == len(sheets) >= 8
    text = (out / "audit.html").read_text()
    assert "copy — orig: identical pixels 0" in text and "Label conflicts" in text
