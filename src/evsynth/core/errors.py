"""The one exception type the command line turns into a one-line message."""

from __future__ import annotations


class EvsynthError(Exception):
    """A problem the user can fix (bad input, missing file, failed download).

    The command line prints ``evsynth: error: <message>`` and exits with
    :attr:`exit_code`; it never shows a traceback for these.
    """

    exit_code: int = 1

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
