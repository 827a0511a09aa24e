"""Progress of long per-clip loops: a tqdm bar on a terminal, a plain line every ~10% elsewhere.

Off a terminal (EC2 user-data logs, CI, `nohup`) tqdm's bar is disabled or fills the log with carriage
returns, and a feature pass over a corpus would print nothing for minutes. There, each tenth of the work
prints one line: clips done, clips per second, time left. A pass that ends within QUIET_SECONDS (a
cache-hit pass) prints nothing.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Iterable, Iterator, TextIO, TypeVar

from tqdm import tqdm

Item = TypeVar("Item")
STEPS = 10  # lines off a terminal: one per tenth of the work
QUIET_SECONDS = 5.0  # no line before this much time has passed: short passes stay silent


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _lines(items: Iterable, total: int, desc: str, unit: str, stream: TextIO, clock: Callable[[], float]) -> Iterator:
    start, next_step = clock(), 1
    for done, item in enumerate(items, start=1):
        yield item
        if done * STEPS < next_step * total:
            continue
        next_step = done * STEPS // total + 1
        elapsed = clock() - start
        if elapsed < QUIET_SECONDS:
            continue
        rate = done / elapsed if elapsed > 0 else float("inf")
        left = (total - done) / rate if rate > 0 else 0.0
        stream.write(
            f"{desc}: {done}/{total} {unit}s ({100 * done // total}%), {rate:.1f} {unit}s/s, {_duration(left)} left\n"
        )
        stream.flush()


def progress(
    items: Iterable[Item],
    desc: str,
    unit: str = "clip",
    stream: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    total: int | None = None,
) -> Iterator[Item]:
    """Iterate `items`, reporting progress on `stream` (stderr): a bar on a TTY, ~10 lines otherwise.

    `total`: how many items a lazy iterator will yield (results arriving from worker threads), so it
    is not drained before the first report; without it, `items` is listed first.
    """
    stream = stream or sys.stderr
    if total is None:
        items = list(items)
        total = len(items)
    if getattr(stream, "isatty", lambda: False)():
        return iter(tqdm(items, desc=desc, unit=unit, file=stream, total=total))
    return _lines(items, total, desc, unit, stream, clock)
