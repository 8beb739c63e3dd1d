"""This server process among the others on one PostgreSQL database: who routes, and the desk's
changes passed between them.

- **Running together.** Every process holds a shared advisory lock (``ALIVE_KEY``) on a connection
  of its own for as long as it runs. One that gets it exclusively at start-up is alone on the
  database, so it rebuilds the queue from the sessions as a lone server always did
  (``CareDesk.load``), and only then lets others in; one that cannot joins the queue the others run
  and rebuilds nothing. The database releases a process's locks when its connection ends, so a
  killed process leaves none behind.
- **One router.** Offers and missed offers are decided by the process that holds ``ROUTER_KEY``
  (``pg_try_advisory_lock`` on the same connection); the others try again every ``retry_s``. When the
  router dies its connection closes, the database releases the lock, and a standby takes it at its
  next try. Two routers for a moment (one whose connection broke, not yet told) would be harmless:
  every decision is made under the queue's lock (``rooms.desk.pg_queue_state``); one router keeps
  the work in one place.
- **Changes everywhere.** The desk's listeners are told of every change (queue positions, offers,
  chat, session changes); :meth:`Peers.publish` sends each as a NOTIFY on ``CHANNEL``, and each
  process's listening connection hands the others' to ``on_event`` (the desk's :meth:`tell`), so the
  pages' sockets on every process wake. The router is woken too (``on_wake``): a customer who joined
  on another process is offered at once rather than at the next tick. Freed seats (a session
  ended or transferred) go the same way (:meth:`Peers.publish_seat`, ``on_seat``), so a live room
  held by another process lets its customer go. Each chat message stored goes too
  (:meth:`Peers.publish_chat`, ``on_chat``: the desk's :meth:`tell_chat`), so the pages' sockets on
  every process get it as it is (a message too long for a NOTIFY is sent as a change of its session
  instead: the pages then read the whole chat again).
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Engine

from rooms.clock import as_utc
from rooms.desk.records import ChatPosted
from rooms.seating import SeatFreed

logger = logging.getLogger(__name__)

#: advisory lock ids (constants used for nothing else; see also rooms.db and pg_queue_state)
ALIVE_KEY = 0x61766370  # "avcp": held shared by every running server process
ROUTER_KEY = 0x61766372  # "avcr": held by the one process that routes
#: the NOTIFY channel of the desk's changes
CHANNEL = "avatar_care_desk"
#: NOTIFY payloads must stay under 8000 bytes; a change about more ids is sent as "anyone in the brand"
MAX_PAYLOAD = 7000

EventSink = Callable[[int, frozenset[str] | None], None]
SeatSink = Callable[[SeatFreed], None]
ChatSink = Callable[[ChatPosted], None]


class Peers:
    def __init__(self, engine: Engine, retry_s: float = 1.0, routes: bool = True) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        kwargs.pop("context", None)  # SQLAlchemy's adapters, not libpq's
        kwargs.setdefault("application_name", "avatar-care")
        self._connect_args: tuple[list[Any], dict[str, Any]] = (list(args), dict(kwargs))
        self.retry_s = retry_s
        #: False: never the router (a room worker: it runs live rooms, the API processes route)
        self.routes = routes
        #: tells this process's messages from the others' (each process hears its own NOTIFYs too)
        self.origin = secrets.token_hex(8)
        #: called with the others' changes (a brand id, the ids it is about or None), from a thread
        self.on_event: EventSink | None = None
        #: called with the others' freed seats (a session ended or transferred there), from a thread
        self.on_seat: SeatSink | None = None
        #: called with the chat messages stored by the others, from a thread
        self.on_chat: ChatSink | None = None
        #: called, from a thread, when this process should route now: it became the router, or a
        #: change came from another process while it is the router
        self.on_wake: Callable[[], None] | None = None
        self._router = False
        self._alone = False
        self._locks: psycopg.Connection[Any] | None = None
        self._outbox: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def _connect(self) -> psycopg.Connection[Any]:
        args, kwargs = self._connect_args
        return psycopg.connect(*args, **kwargs, autocommit=True)

    # -- start and stop ----------------------------------------------------------------------
    def join(self) -> bool:
        """Connect; True when no other server process runs on the database (then rebuild the queue
        and call :meth:`start`, which lets the others in); False: join the queue they run."""
        self._locks = self._connect()
        alone = self._locks.execute("SELECT pg_try_advisory_lock(%s)", (ALIVE_KEY,)).fetchone()
        self._alone = bool(alone and alone[0])
        if self._alone:
            return True
        self._locks.execute("SELECT pg_advisory_lock_shared(%s)", (ALIVE_KEY,))
        return False

    def start(self) -> None:
        """Let other processes in, try once to be the router, and start listening and electing."""
        assert self._locks is not None, "join() first"
        if self._alone:
            # shared first, then the exclusive one dropped: the process is never without the lock
            self._locks.execute("SELECT pg_advisory_lock_shared(%s)", (ALIVE_KEY,))
            self._locks.execute("SELECT pg_advisory_unlock(%s)", (ALIVE_KEY,))
        self._elect(self._locks)
        listening = threading.Event()
        for name, target in (("desk-peers-listen", self._listen), ("desk-peers-locks", self._hold_locks)):
            args = (listening,) if target == self._listen else ()
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        listening.wait(timeout=10)

    def close(self) -> None:
        self._stopping.set()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        if self._locks is not None:
            self._locks.close()
        self._router = False

    # -- the router ---------------------------------------------------------------------------
    def is_router(self) -> bool:
        """Whether this process routes now (``CareDesk.routes_here``)."""
        return self._router

    def _elect(self, connection: psycopg.Connection[Any]) -> None:
        if self._router or not self.routes:
            connection.execute("SELECT 1")  # still connected, so still holding the lock
            return
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (ROUTER_KEY,)).fetchone()
        if row and row[0]:
            self._router = True
            logger.info("this process routes the queue now")
            self._wake()

    def _hold_locks(self) -> None:
        """The locks' connection: elects every ``retry_s`` and sends the NOTIFYs in between."""
        connection = self._locks
        while not self._stopping.is_set():
            try:
                if connection is None or connection.closed:
                    connection = self._locks = self._connect()
                    connection.execute("SELECT pg_advisory_lock_shared(%s)", (ALIVE_KEY,))
                deadline = time.monotonic() + self.retry_s
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        payload = self._outbox.get(timeout=left)
                    except queue.Empty:
                        break
                    if payload is None:
                        return
                    connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                self._elect(connection)
            except psycopg.Error as exc:
                if self._router:
                    logger.warning("lost the router's lock with the database connection: %s", exc)
                self._router = False
                if connection is not None:
                    connection.close()
                connection = None
                self._stopping.wait(self.retry_s)

    # -- changes between processes ---------------------------------------------------------
    def publish(self, brand_id: int, about: frozenset[str] | None = None) -> None:
        """A desk listener: this process's change, sent to the others (never blocks the caller)."""
        if threading.current_thread().name == "desk-peers-listen":
            return  # another process's change, being handed to this one's listeners
        ids = sorted(about) if about is not None else None
        payload = json.dumps({"o": self.origin, "b": brand_id, "a": ids}, separators=(",", ":"))
        if len(payload.encode()) > MAX_PAYLOAD:
            payload = json.dumps({"o": self.origin, "b": brand_id, "a": None}, separators=(",", ":"))
        self._outbox.put(payload)

    def publish_seat(self, event: SeatFreed) -> None:
        """A desk seat listener: a seat freed here, sent to the others, whose live room of that id
        (if they hold it) lets the customer go."""
        if threading.current_thread().name == "desk-peers-listen":
            return
        seat = {"r": event.room_id, "s": event.session_id, "c": event.room_closed, "t": event.transferred}
        self._outbox.put(json.dumps({"o": self.origin, "k": "seat", **seat}, separators=(",", ":")))

    def publish_chat(self, event: ChatPosted) -> None:
        """A desk chat listener: a message stored here, sent to the others' pages as it is."""
        if threading.current_thread().name == "desk-peers-listen":
            return
        chat = {
            "b": event.brand_id,
            "s": event.session_id,
            "p": event.operator_id,
            "i": event.id,
            "f": event.sender,
            "x": event.text,
            "t": as_utc(event.at).isoformat(),
        }
        payload = json.dumps({"o": self.origin, "k": "chat", **chat}, separators=(",", ":"))
        if len(payload.encode()) > MAX_PAYLOAD:  # its session changed: the pages read the chat again
            about = {event.session_id, *([event.operator_id] if event.operator_id else [])}
            self.publish(event.brand_id, frozenset(about))
            return
        self._outbox.put(payload)

    def _listen(self, listening: threading.Event) -> None:
        while not self._stopping.is_set():
            try:
                with self._connect() as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    listening.set()
                    while not self._stopping.is_set():
                        for note in connection.notifies(timeout=0.5):
                            self._receive(note.payload)
            except psycopg.Error as exc:
                logger.warning("listening for the other processes' changes failed: %s", exc)
                self._stopping.wait(self.retry_s)

    def _receive(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message["o"] == self.origin:
                return
            if message.get("k") == "seat":
                self._receive_seat(message)
                return
            if message.get("k") == "chat":
                self._receive_chat(message)
                return
            brand_id = int(message["b"])
            about = frozenset(str(i) for i in message["a"]) if message["a"] is not None else None
        except (ValueError, KeyError, TypeError):
            logger.warning("a change from another process could not be read: %.200s", payload)
            return
        if self.on_event is not None:
            try:
                self.on_event(brand_id, about)
            except Exception:  # one broken listener must not stop the others' changes
                logger.exception("another process's change could not be handed on")
        if self._router:
            self._wake()

    def _receive_seat(self, message: dict[str, Any]) -> None:
        event = SeatFreed(str(message["r"]), str(message["s"]), bool(message["c"]), bool(message["t"]))
        if self.on_seat is not None:
            try:
                self.on_seat(event)
            except Exception:
                logger.exception("another process's freed seat could not be handed on")

    def _receive_chat(self, message: dict[str, Any]) -> None:
        operator = message["p"]
        event = ChatPosted(
            int(message["b"]),
            str(message["s"]),
            str(operator) if operator is not None else None,
            int(message["i"]),
            str(message["f"]),
            str(message["x"]),
            datetime.fromisoformat(str(message["t"])),
        )
        if self.on_chat is not None:
            try:
                self.on_chat(event)
            except Exception:
                logger.exception("another process's chat message could not be handed on")

    def _wake(self) -> None:
        if self.on_wake is not None:
            try:
                self.on_wake()
            except Exception:
                logger.exception("waking the router failed")
