"""Results that travel: a run folder as one small self-describing file (``busbench bundle``), and
bundles made on different machines merged into one leaderboard (``busbench leaderboard``)."""
