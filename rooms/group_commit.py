"""Group commit: writes that arrive from many threads at once share one transaction.

A commit costs a flush to the disk (SQLite's WAL with ``synchronous=FULL``, PostgreSQL's WAL), a few
milliseconds here whatever it holds, and SQLite lets one connection write at a time: with a
transaction per chat message, 100 customers chatting at once queued for the write lock in SQLite's
busy handler, which sleeps between tries and wakes no one in order, so some messages waited half a
minute (benchmarks/chat_throughput.py). Here the first caller to find no batch being written
becomes the writer: it takes every write waiting at that moment (up to ``max_batch``), writes them in
one transaction and hands each caller its own outcome; callers that arrive meanwhile wait and go in
the next batch. Nothing is acknowledged before the commit that holds it: a failed commit fails
every caller of that batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Pending(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None
    #: set when the outcome is known; ``field`` so every pending write has its own
    finished: threading.Event = field(default_factory=threading.Event)


class GroupCommit(Generic[T, R]):
    """``submit`` from any thread; ``write`` is called with a batch of items in one thread at a time
    and returns, for each item in order, its result or the exception that refuses that item alone
    (the others of the batch are still committed)."""

    def __init__(self, write: Callable[[Sequence[T]], Sequence[R | Exception]], max_batch: int = 200) -> None:
        self._write = write
        self.max_batch = max_batch
        self._mutex = threading.Lock()
        self._waiting: list[_Pending[T, R]] = []
        self._writing = False
        #: batches written so far and the items in them (how much grouping happened)
        self.batches = 0
        self.items = 0

    def submit(self, item: T) -> R:
        mine: _Pending[T, R] = _Pending(item)
        with self._mutex:
            self._waiting.append(mine)
        while True:
            with self._mutex:
                if mine.done:
                    break
                lead = not self._writing
                if lead:
                    self._writing = True
                    batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            if lead:
                self._write_batch(batch)
            else:
                # woken by the batch that holds this item, or by the end of a batch before it (then
                # this caller may be the next writer)
                mine.finished.wait()
                mine.finished.clear()
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[return-value]

    def _write_batch(self, batch: list[_Pending[T, R]]) -> None:
        try:
            outcomes = self._write([p.item for p in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} writes gave {len(outcomes)} outcomes")
            for pending, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    pending.error = outcome
                else:
                    pending.result = outcome
        except BaseException as exc:  # nothing of the batch was acknowledged
            for pending in batch:
                pending.error = exc
        with self._mutex:
            self.batches += 1
            self.items += len(batch)
            for pending in batch:
                pending.done = True
            self._writing = False
            # the callers of this batch learn their outcome; one of those still waiting writes next
            for pending in [*batch, *self._waiting[:1]]:
                pending.finished.set()
