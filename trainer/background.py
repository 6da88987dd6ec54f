"""Work handed to a second Python process, so that it runs on the second core without sharing the GIL.

While ``amygdala train`` imports torch or draws its pictures, the machine's other core is idle. A
thread cannot use it for pure-Python work (importing spaCy, linting), and numpy lets go of the GIL
only inside its heavy loops; a spawned interpreter can, at the price of its own imports (2-3 s on a
2-core laptop). So the callers hand work over only when it pays that back (``imports_pending``
and the size of the job), and the work falls back to this process when a second one cannot start.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Generic, TypeVar

T = TypeVar("T")


def imports_pending(*modules: str) -> bool:
    """True while none of ``modules`` is imported: a fresh CLI process, where a second interpreter's
    imports overlap this one's instead of repeating ones this process already paid for."""
    return not any(name in sys.modules for name in modules)


class Background(Generic[T]):
    """``function(*args)`` running in a spawned process (``process``) or a thread of this one."""

    def __init__(self, function: Callable[..., T], *args: object, process: bool) -> None:
        self._function, self._args = function, args
        self._executor: Executor | None = None
        if process:
            try:
                self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
                self._future: Future[T] = self._executor.submit(function, *args)
                return
            except (OSError, RuntimeError):  # no process could be started here (sandbox, limits)
                self._close()
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._future = self._executor.submit(function, *args)

    def done(self) -> bool:
        return self._future.done()

    def result(self) -> T:
        """The function's value (or its exception); computed here if the process died before answering."""
        try:
            return self._future.result()
        except BrokenProcessPool:
            return self._function(*self._args)
        finally:
            self._close()

    def _close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
