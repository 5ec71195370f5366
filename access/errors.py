"""The one error type users see: a config problem located by file and key path."""

from __future__ import annotations


class ConfigError(Exception):
    """Bad input. Rendered as one line: ``<file>: <key path>: <what is wrong and how to fix it>``."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        location = f"{self.file}: {self.path}" if self.path else self.file
        return f"{location}: {self.message}"
