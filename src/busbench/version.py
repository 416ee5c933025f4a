"""busbench's version, apart from the package's ``__init__`` (which re-exports the notebook API
from the top layer), so that the lower layers can record it without importing upwards."""

__version__ = "0.1.0"
