"""How a long step tells the user what it does: silent here; the CLI passes one that renders with rich.

``LineProgress`` is the progress of a log that is no terminal (CI, ``nohup``, a pipe): a bar
there would print nothing until the step ends, so it writes a line at the start, then at most
every ``every`` seconds (and at least every tenth of the work when that is slower), and one at
the end, each with the count, the rate and the time left. ``Laps`` times the named steps of a
run (run.json's and analyses.json's ``timings``).
"""

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


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class LineProgress:
    """Progress lines for a non-interactive log: "extracting: 240/919 (26%), 11.8 texts/s, about 58 s left"."""

    def __init__(
        self,
        description: str,
        total: int,
        write: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        every: float = 10.0,
        unit: str = "texts",
    ) -> None:
        self.description, self.total, self.write, self.clock, self.every, self.unit = description, total, write, clock, every, unit
        self.done = 0
        self.started = self.last = clock()
        self.step = max(1, total // 10)
        self.next_count = self.step
        write(f"{description}: 0/{total} {unit}")

    def advance(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if self.done >= self.total:
            return  # the last line is written by close()
        if now - self.last >= self.every or (self.done >= self.next_count and now - self.last >= 1.0):
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        line = f"{self.description}: {self.done}/{self.total} ({100 * self.done // max(self.total, 1)}%)"
        if rate > 0:
            line += f", {rate:.1f} {self.unit}/s"
            if self.done < self.total:
                line += f", about {_duration((self.total - self.done) / rate)} left"
        self.write(line)
        self.last = now
        while self.next_count <= self.done:
            self.next_count += self.step

    def close(self) -> None:
        now = self.clock()
        elapsed = now - self.started
        rate = f", {self.done / elapsed:.1f} {self.unit}/s" if elapsed > 0 and self.done else ""
        self.write(f"{self.description}: {self.done}/{self.total} done in {_duration(elapsed)}{rate}")


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
