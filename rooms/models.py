"""The stored records of the customer-care domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from rooms.db import Base, UtcDateTime, utcnow
from rooms.personal_data import PERSONAL_MARK


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the brand admin's API key (the key itself is shown once, never stored).
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Avatar(Base):
    __tablename__ = "avatars"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(8))
    file_name: Mapped[str] = mapped_column(String(64))
    thumbnail_name: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    bones: Mapped[list[str]] = mapped_column(JSON)
    expressions: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class BrandSecrets(Base):
    """Secrets a brand shares with its own site: HS256 for customers' join tokens, HMAC for checkout."""

    __tablename__ = "brand_secrets"

    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True)
    join_secret: Mapped[str] = mapped_column(String(100))
    webhook_secret: Mapped[str] = mapped_column(String(100))
    checkout_url: Mapped[str | None] = mapped_column(String(500), nullable=True)


class SupervisionSettings(Base):
    """How a brand's supervisors meet its customers (``rooms.supervision``); no row: the defaults."""

    __tablename__ = "supervision_settings"

    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True)
    #: Whether a consultation's customers are told that a supervisor listens in (they are always
    #: told of one who joins the conversation, and never of one who whispers to the operator).
    listening_announced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class RoomTemplate(Base):
    __tablename__ = "room_templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    avatar_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    scene: Mapped[str] = mapped_column(String(100), default="boutique")
    greeting: Mapped[str] = mapped_column(Text, default="")
    languages: Mapped[list[str]] = mapped_column(JSON)
    skills: Mapped[list[str]] = mapped_column(JSON)
    #: {"zone": ..., "weekly": {"mon": ["09:00-18:00"]}, "closed_dates": [...]}; None = always open
    hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    max_customers: Mapped[int] = mapped_column(Integer, default=1)
    keep_transcripts: Mapped[bool] = mapped_column(Boolean, default=True)
    transcript_days: Mapped[int] = mapped_column(Integer, default=90)
    allow_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    #: past this wait the customer is offered a message or a callback
    max_wait_s: Mapped[int] = mapped_column(Integer, default=300)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    #: the service level counts a customer answered within this many seconds of joining the queue
    service_level_s: Mapped[float] = mapped_column(Float, default=20.0, server_default="20")
    #: ended consultations older than this many days are erased (``rooms.data_rights``); None: kept
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the brand's colour in the room (the wall's band, the counter's trim, the page's accent), #rrggbb
    brand_color: Mapped[str] = mapped_column(String(7), default="#2f6f8f", server_default="#2f6f8f")
    #: the logo uploaded for this room, a PNG under the data directory's ``logos``; None: no logo
    logo_file: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: the brand's wrap-up codes for consultations of this room (the operator picks one after each)
    wrap_up_codes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: whether a code must be given before the operator is offered anyone again
    wrap_up_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    #: the after-call work's time box in seconds after each consultation (0: none)
    after_call_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: recording of consultations (``rooms.recordings``): off, ask (the customer consents or not),
    #: always (the customer is told)
    recording: Mapped[str] = mapped_column(String(10), default="off", server_default="off")
    #: recordings older than this many days are deleted, files and rows, by the hourly job
    recording_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")


class OperatorAccount(Base):
    """A person of the brand who signs in: an operator, a supervisor or an administrator."""

    __tablename__ = "operators"
    __table_args__ = (
        UniqueConstraint("brand_id", "login"),
        UniqueConstraint("brand_id", "oidc_subject", name="uq_operators_brand_id_oidc_subject"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    login: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[str] = mapped_column(String(20), default="operator")
    languages: Mapped[list[str]] = mapped_column(JSON)
    skills: Mapped[list[str]] = mapped_column(JSON)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    presence: Mapped[str] = mapped_column(String(20), default="offline")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    #: a disabled account keeps its history but cannot sign in, and its tokens stop working
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    #: the ``sub`` of the brand's OpenID provider, for accounts that sign in there
    oidc_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)


class BrandSignIn(Base):
    """How a brand's people sign in: local passwords (on or off) and the brand's OpenID provider."""

    __tablename__ = "brand_sign_in"

    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True)
    local_passwords: Mapped[bool] = mapped_column(Boolean, default=True)
    oidc_issuer: Mapped[str | None] = mapped_column(String(500), nullable=True)
    oidc_client_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    oidc_client_secret: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: provision on first sign-in: whose verified email is in this domain ...
    oidc_email_domain: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: ... or whose ``groups`` claim holds this group
    oidc_group: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: the claim naming the role (admin, supervisor or operator); operator when absent
    oidc_role_claim: Mapped[str] = mapped_column(String(100), default="avatar_care_role")
    #: the role claim's values and the role each gives (``{"care-admins": "admin"}``); None: the
    #: claim's value names the role itself
    oidc_role_map: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)


class PendingOidcLogin(Base):
    """A sign-in sent to the brand's OpenID provider, until it comes back (or expires)."""

    __tablename__ = "oidc_logins"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    code_verifier: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: the page the person is sent back to, signed in (a name from a fixed list, never a URL)
    return_to: Mapped[str] = mapped_column(String(20), default="admin", server_default="admin")


class OperatorToken(Base):
    """A bearer token of an operator (from sign-in, or issued by the brand admin); stored hashed."""

    __tablename__ = "operator_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UsedJoinToken(Base):
    """The one-time ids of customers' join tokens already used (kept until the token expires)."""

    __tablename__ = "used_join_tokens"

    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CareSession(Base):
    __tablename__ = "care_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[str] = mapped_column(ForeignKey("room_templates.id", ondelete="CASCADE"), index=True)
    #: the customer's identity as the brand vouches for it ("sub" of the join token), or "anonymous"
    customer_ref: Mapped[str] = mapped_column(String(200))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(500), default="")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    skills: Mapped[list[str]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20), index=True)
    operator_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: for a transfer to a named colleague
    only_operator: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: the live room while connected (customers of a shared room have the same one), else None
    live_room_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    enqueued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: when the customer's personal data in it was erased (its times and outcome stay for the figures)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: a cold transfer to a named colleague: the operator who gets the customer back if refused
    return_to: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: a warm transfer in preparation: the colleague consulted, and whether they joined the consult
    consult_with: Mapped[str | None] = mapped_column(String(32), nullable=True)
    consult_accepted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    #: after the end: the after-call work's time box, whether a code was required, the code given
    after_call_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    wrap_up_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    wrap_up_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    wrapped_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: where the template asks: "given" or "declined" by the customer; None while not asked
    recording_consent: Mapped[str | None] = mapped_column(String(10), nullable=True)


class SessionEvent(Base):
    __tablename__ = "session_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("care_sessions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class Recording(Base):
    """A consultation's recording: its files (both voices as Ogg Opus, the avatar's motion packets,
    the chat) are in the data directory's ``recordings/`` under :attr:`path`."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("care_sessions.id", ondelete="CASCADE"), index=True)
    #: the folder under ``recordings/``: ``<brand>/<session>/<recording>`` (ids only); what is in it
    #: is the customer's voice and chat
    path: Mapped[str] = mapped_column(String(200), info=PERSONAL_MARK)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: None while it is being made
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: recorded time, pauses left out
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    motion_packets: Mapped[int] = mapped_column(Integer, default=0)


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("care_sessions.id", ondelete="CASCADE"), index=True)
    sender: Mapped[str] = mapped_column(String(20))  # customer | operator
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class ContactRequest(Base):
    """A message left, or a callback asked for, by a customer nobody could serve in time."""

    __tablename__ = "contact_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[str] = mapped_column(ForeignKey("room_templates.id", ondelete="CASCADE"))
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: the customer as the brand's site vouched for them (the join token's sub), when it did
    customer_ref: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # message | callback
    contact: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProblemReport(Base):
    """A problem a customer reported about their consultation: a ticket the brand answers and closes."""

    __tablename__ = "problem_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("care_sessions.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: open -> answered -> closed (a ticket may also be closed unanswered)
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open", index=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: who answered and who closed, as the audit log names them
    answered_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("care_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    csat: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class CatalogueItem(Base):
    __tablename__ = "catalogue_items"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # image | model
    media_url: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(500))
    price: Mapped[str] = mapped_column(String(40), default="")


class CartLine(Base):
    __tablename__ = "cart_lines"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("care_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(
        ForeignKey("catalogue_items.id", ondelete="CASCADE"), primary_key=True
    )
    quantity: Mapped[int] = mapped_column(Integer, default=1)


# -- the queue's state, shared by every server process on PostgreSQL (rooms/desk/pg_queue_state.py) --
# SQLite keeps these tables empty: there the queue's state lives in the one process's memory.


class QueueVersion(Base):
    """One row: bumped by every change of the queue's state, so a process knows when its copy is stale."""

    __tablename__ = "queue_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class QueueChange(Base):
    """A row of a queue table that a version changed (inserted, updated or deleted), so a process
    whose copy is a few versions old reads only those rows again (recent versions only)."""

    __tablename__ = "queue_changes"

    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)


class MetricsSnapshot(Base):
    """One server process's own Prometheus figures, renewed every second, so that ``/metrics`` of
    any process on the database lists every process's (avatar_care/metrics/shared.py)."""

    __tablename__ = "metrics_snapshots"

    process_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    body: Mapped[str] = mapped_column(Text)


class QueueOperator(Base):
    """An operator as routing sees them: presence, capacity, running rooms, idle since when."""

    __tablename__ = "queue_operators"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    brand_id: Mapped[int] = mapped_column(Integer)
    languages: Mapped[list[str]] = mapped_column(JSON)
    skills: Mapped[list[str]] = mapped_column(JSON)
    idle_since: Mapped[datetime] = mapped_column(UtcDateTime())
    presence: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int] = mapped_column(Integer)
    active: Mapped[int] = mapped_column(Integer)
    #: after-call work: ended session id -> [end of its time box (ISO), wrap-up code required]
    after_call: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")


class QueueWaiting(Base):
    """A customer in the queue; ``seq`` keeps the order they joined the list in (ties of the order)."""

    __tablename__ = "queue_waiting"

    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    brand_id: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    skills: Mapped[list[str]] = mapped_column(JSON)
    enqueued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    priority: Mapped[int] = mapped_column(Integer)
    only_operator: Mapped[str | None] = mapped_column(String(32), nullable=True)
    declined_by: Mapped[list[str]] = mapped_column(JSON)
    seats: Mapped[int] = mapped_column(Integer)
    #: a transfer to a named colleague: who gets the customer back if the colleague cannot take them
    return_to: Mapped[str | None] = mapped_column(String(32), nullable=True)


class QueueOffer(Base):
    """An open offer of a waiting customer to an operator."""

    __tablename__ = "queue_offers"

    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(32))
    offered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    room_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class QueueRoom(Base):
    """A running live room and the sessions seated in it, in the order they sat down."""

    __tablename__ = "queue_rooms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(32))
    brand_id: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str] = mapped_column(String(32))
    seats: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    customers: Mapped[list[str]] = mapped_column(JSON)


# -- room workers (avatar_care/workers/): the processes that run live rooms, on PostgreSQL ----------


class RoomWorker(Base):
    """A process running live rooms: where its signaling is reached, and its latest heartbeat."""

    __tablename__ = "room_workers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: its signaling's base URL on the private network, e.g. ``ws://10.0.0.5:8101``
    signaling_url: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    #: live rooms it runs, and its CPU use over the last heartbeat (percent of one core)
    rooms: Mapped[int] = mapped_column(Integer, default=0)
    cpu_percent: Mapped[float] = mapped_column(Float, default=0.0)


class RoomPlacement(Base):
    """Which worker runs a live room: every participant of the room is sent to that one."""

    __tablename__ = "room_placements"

    room_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(32), index=True)
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime())
