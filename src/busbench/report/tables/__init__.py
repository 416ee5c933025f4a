"""The report's tables: each test set's accuracy and cost table (``model_rows`` computes it,
``publication`` prints it, ``complexity`` fills its cost columns), false alarms, the tables over all
test sets, the fairness delta, and a table written as files (``writing``)."""
