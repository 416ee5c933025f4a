"""The report's figures (matplotlib; PNG and PDF): the main table's and the ranks' (``plots``), the
analyses' (``analysis_plots``) and the qualitative grid (``qualitative``)."""
