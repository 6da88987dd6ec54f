"""The one exception type the CLI turns into a one-line message and exit code 2."""

from __future__ import annotations

from pathlib import Path


class AmygdalaError(Exception):
    """A usage, configuration or input error that the user must fix.

    ``where`` is the file (and optionally a location inside it, such as a JSON
    path) the problem is in; the CLI prints ``error: <where>: <message>``.
    """

    def __init__(self, message: str, where: str | Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = str(where) if where is not None else None

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:
        # pickled when raised in a second process (trainer.background); the default would drop ``where``
        return (type(self), (self.message, self.where))

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message
