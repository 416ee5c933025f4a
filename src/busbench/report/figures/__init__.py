"""The report's figures (matplotlib; PNG and PDF): the main table's (``plots``), the ranks' CD diagram
(``ranks_plot``), the analyses' (``analysis_plots``) and the qualitative grid (``qualitative``), drawn in
the screen or paper style (``style``), point labels placed clear of each other (``labels``)."""
