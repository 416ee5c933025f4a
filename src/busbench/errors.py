"""The one exception type users see: the CLI prints its message without a traceback."""


class BusbenchError(Exception):
    """A problem the user can fix; the message names the file or setting at fault and the fix."""
