"""The report's statistics: bootstrap intervals, paired tests and ranks (``intervals_and_tests``), figures
of weighted bootstrap draws (``weighted_draws``), and the units they count (``units``)."""
