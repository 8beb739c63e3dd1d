"""Group commit: writes from many threads at once share a transaction, each gets its own outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from rooms.errors import Conflict
from rooms.group_commit import GroupCommit

THREADS = 40


def run_all(target: object, count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            target(n)  # type: ignore[operator]
        except BaseException as exc:  # collected: the test looks at each
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a submitter never got its outcome"
    return errors


def test_writes_arriving_while_one_batch_is_written_go_together_in_the_next() -> None:
    written: list[list[int]] = []
    first_batch = threading.Event()

    def write(items: Sequence[int]) -> list[int | Exception]:
        if not first_batch.is_set():
            first_batch.set()
            deadline = time.monotonic() + 30  # hold the first batch until every other write waits
            while len(group._waiting) < THREADS - 1 and time.monotonic() < deadline:
                time.sleep(0.01)
        written.append(list(items))
        return [n * 10 for n in items]

    group: GroupCommit[int, int] = GroupCommit(write)
    results: dict[int, int] = {}

    def submit(n: int) -> None:
        if n:
            first_batch.wait(30)  # the first write is under way before the others come
        results[n] = group.submit(n)

    assert run_all(submit, THREADS) == []
    assert results == {n: n * 10 for n in range(THREADS)}  # each caller got its own result
    assert [len(b) for b in written] == [1, THREADS - 1]
    assert (group.batches, group.items) == (2, THREADS)


def test_a_refused_write_fails_alone_and_a_failed_batch_fails_all_its_writes() -> None:
    def write(items: Sequence[int]) -> list[int | Exception]:
        if 13 in items:
            raise OSError("disk full")
        return [Conflict(f"{n} is odd") if n % 2 else n for n in items]

    group: GroupCommit[int, int] = GroupCommit(write)
    assert group.submit(2) == 2
    with pytest.raises(Conflict, match="3 is odd"):
        group.submit(3)
    with pytest.raises(OSError, match="disk full"):
        group.submit(13)
    assert group.submit(4) == 4  # the next batch writes again


def test_every_write_of_many_threads_gets_its_outcome_whatever_the_batch_limit() -> None:
    seen: list[int] = []

    def write(items: Sequence[int]) -> list[int | Exception]:
        seen.extend(items)
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(write, max_batch=3)
    results: list[int] = []
    assert run_all(lambda n: results.append(group.submit(n)), THREADS) == []
    assert sorted(results) == sorted(seen) == list(range(THREADS))
    assert group.items == THREADS
