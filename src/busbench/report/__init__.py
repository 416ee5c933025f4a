"""Reporting: tables (Markdown, CSV) of benchmark results."""
