"""The care desk, by responsibility (docs/customer-care.md, "How the desk is organised"):

- ``care_desk``: :class:`CareDesk`, the one object the routes hold, handing each call to a part;
- ``queue_state``: the queue's state behind one interface, and its in-memory implementation;
- ``pg_queue_state``: the same state in PostgreSQL's tables, shared by every server process;
- ``peers``: this process among the others on PostgreSQL (who routes, changes passed by NOTIFY);
- ``queue``: presence, joining, leaving, offers, accepting, transfers, the end of a consultation;
- ``restore``: the queue's state rebuilt from the database at start-up;
- ``in_session``: chat, transcript, events, notes, problem reports, the survey;
- ``contact_requests``: messages and callbacks left instead of waiting;
- ``views``: the brand's queue rows and a customer's wait status;
- ``retention``: chat deleted and consultations erased when the templates say so;
- ``records``, ``routing_rows``, ``listeners``: what the parts share (``listeners``: who is told of
  changes, and of each chat message stored).
"""

from rooms.desk.care_desk import CareDesk
from rooms.desk.queue_state import InMemoryQueueState, QueueState
from rooms.desk.records import (
    FINAL_STATES,
    WAITING_STATES,
    ChatPosted,
    Closed,
    Customer,
    WaitStatus,
    access_hash,
)

__all__ = [
    "FINAL_STATES",
    "WAITING_STATES",
    "CareDesk",
    "ChatPosted",
    "Closed",
    "Customer",
    "InMemoryQueueState",
    "QueueState",
    "WaitStatus",
    "access_hash",
]
