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
from toolkit.cli import readout_cmd, eval_cmd, steer_cmd  # noqa: F401
from toolkit.cli._app import app, report_error
from base.errors import AmygdalaError
from trainer.extraction.distributed import OtherRank


def main() -> None:
    try:
        app()
    except AmygdalaError as err:
        report_error(err)
        sys.exit(2)
    except OtherRank:  # under torchrun: this rank has done its share; rank 0 reports
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
