"""The ``amygdala`` command line: thin commands over the library."""

from __future__ import annotations

import sys

from toolkit.cli import concepts_cmd, schemas_cmd  # noqa: F401  (registers commands)
from toolkit.cli import coverage_cmd  # noqa: F401
from toolkit.cli import stats_cmd  # noqa: F401
from toolkit.cli import new_cmd  # noqa: F401
from toolkit.cli import io_cmd  # noqa: F401
from toolkit.cli import analysis_cmd  # noqa: F401
from toolkit.cli import train_cmd  # noqa: F401
from toolkit.cli import lint_cmd  # noqa: F401
from toolkit.cli import init_cmd, lsp_cmd  # noqa: F401
from toolkit.cli._app import app, err_console
from toolkit.errors import AmygdalaError


def main() -> None:
    try:
        app()
    except AmygdalaError as err:
        err_console.print(f"error: {err}", markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
