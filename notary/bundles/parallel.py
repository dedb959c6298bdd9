"""The items of a large bundle verified in several processes (issue 17: 10,000 items in
seconds on a 2-core machine).

Each item's checks read only the bundle and the outside facts gathered before them
(:class:`~notary.core.bundle.ItemChecks`), and are pure: ranges of items are verified in
worker processes forked after the archive was read (they inherit it, nothing is copied in),
and their outcomes come back in item order, so the verdict is the one a single process
gives. Forking is only safe from a process without other threads (the ``notary verify``
command): with any other thread running, the items are verified in this process, as they
are when anything goes wrong in the pool (no ``fork`` on this system, an outcome that does
not pickle).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from notary.core.bundle import ItemChecks, ItemMap, ItemOutcome

__all__ = ["MIN_ITEMS", "item_processes"]

#: Below this many items a pool costs more (forking, moving the outcomes) than it saves.
MIN_ITEMS = 500
#: Ranges per worker: small enough to even out the workers, large enough to move in bulk.
_RANGES_PER_WORKER = 4

_job: ItemChecks | None = None  # set in the parent just before forking; read by the workers


def _run(span: tuple[int, int]) -> bytes:
    assert _job is not None
    return pickle.dumps(_job.run(*span), protocol=pickle.HIGHEST_PROTOCOL)


def item_processes(workers: int | None = None, *, min_items: int = MIN_ITEMS) -> ItemMap:
    """An ``ItemMap`` verifying the items in ``workers`` processes (default: one per CPU);
    in this process when there is one CPU, fewer than ``min_items`` items or another
    thread."""
    count = workers if workers is not None else (os.cpu_count() or 1)

    def run(job: ItemChecks) -> list[ItemOutcome]:
        global _job
        n = len(job.bundle.items)
        if count < 2 or n < min_items or threading.active_count() > 1 \
                or "fork" not in multiprocessing.get_all_start_methods():
            return job.run(0, n)
        size = -(-n // (count * _RANGES_PER_WORKER))
        spans = [(start, min(start + size, n)) for start in range(0, n, size)]
        # A forked worker flushes the standard streams it inherited when it ends: whatever
        # this process had buffered would be written twice.
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        _job = job
        try:
            # A worker that dies (killed, out of memory) breaks the executor, which raises
            # at once (a multiprocessing.Pool would wait for its lost range for ever).
            with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork")
                                     ) as pool:
                out: list[ItemOutcome] = []
                for part in pool.map(_run, spans):
                    out.extend(pickle.loads(part))  # our own worker's outcomes
            return out
        except (OSError, pickle.PicklingError, TypeError, AttributeError, BrokenProcessPool):
            return job.run(0, n)
        finally:
            _job = None

    return run
