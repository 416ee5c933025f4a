"""The report page: what it shows (``page_contents``), its HTML (``html``), and its setup and analyses
sections."""
