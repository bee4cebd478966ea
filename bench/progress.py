"""A progress bar on stderr: redrawn in place on a terminal, a line every few seconds otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 28


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


class Progress:
    """`with Progress("client", total) as bar: bar.advance()`; `bar.note` adds a live remark."""

    def __init__(self, title: str, total: int, *, stream: TextIO | None = None) -> None:
        self.title = title
        self.total = max(total, 1)
        self.done = 0
        self.note = ""
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.started = time.monotonic()
        self._drawn = 0.0

    def __enter__(self) -> Progress:
        self.started = time.monotonic()
        self._draw(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._draw(force=True)
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    def advance(self, count: int = 1) -> None:
        self.done += count
        self._draw()

    def set(self, done: int, note: str | None = None) -> None:
        self.done = done
        if note is not None:
            self.note = note
        self._draw()

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        fraction = min(self.done / self.total, 1.0)
        filled = int(fraction * WIDTH)
        bar = "#" * filled + "." * (WIDTH - filled)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        remaining = (self.total - self.done) / rate if rate > 0 else 0.0
        text = (
            f"{self.title:<18} [{bar}] {self.done:>6}/{self.total:<6} {fraction:4.0%} "
            f"{rate:7.1f}/s  {_clock(elapsed)} elapsed, {_clock(remaining)} left"
        )
        return f"{text}  {self.note}" if self.note else text

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        every = 0.2 if self.interactive else 5.0
        if not force and now - self._drawn < every and self.done < self.total:
            return
        self._drawn = now
        if self.interactive:
            self.stream.write("\r\x1b[2K" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
