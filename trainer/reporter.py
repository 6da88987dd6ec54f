"""How a long step tells the user what it does (silent here; the CLI passes one that renders with
rich), and how long each step took."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Reporter:
    def step(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        yield lambda n: None


class Laps:
    """Wall-clock seconds per named step, each from the end of the previous one (run.json's and
    analyses.json's ``timings``)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.started = self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._clock, 4)
        self._clock = now

    def total(self) -> float:
        return round(time.perf_counter() - self.started, 4)
