"""Who is told about the desk's changes: always after the change is committed, and a listener that
fails is logged, never allowed to undo what is already in the database."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rooms.desk.records import ChatPosted
from rooms.seating import SeatFreed

logger = logging.getLogger(__name__)

#: a brand id, and the ids (sessions, operators) the change is about, or None: anyone in the brand
QueueListener = Callable[[int, frozenset[str] | None], None]
SeatListener = Callable[[SeatFreed], None]
ChatListener = Callable[[ChatPosted], None]


class Listeners:
    def __init__(self) -> None:
        #: called after anything in a brand's queue or sessions changed
        self.queue: list[QueueListener] = []
        #: called after a customer left a live room (ended, transferred): the live side lets them go
        self.seats: list[SeatListener] = []
        #: called with each chat message once it is stored, in the order of their ids
        self.chat: list[ChatListener] = []

    def changed(self, brand_id: int, about: frozenset[str] | None = None) -> None:
        for listener in list(self.queue):
            try:
                listener(brand_id, about)
            except Exception:  # a broken listener must not undo a committed change
                logger.exception("queue listener failed")

    def chat_posted(self, event: ChatPosted) -> None:
        for listener in list(self.chat):
            try:
                listener(event)
            except Exception:  # the message is stored whatever a page is told
                logger.exception("chat listener failed")

    def seat_freed(self, event: SeatFreed) -> None:
        for listener in list(self.seats):
            try:
                listener(event)
            except Exception:  # the session has ended whatever the live side does about it
                logger.exception("seat listener failed")
