"""Recordings' consent, their place in customers' data rights, and their retention (rows and files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from rooms import recordings
from rooms.data_rights import by_customer, by_session, erase, export
from rooms.desk import Customer
from rooms.desk.retention import apply_retention
from rooms.errors import Conflict, Invalid
from rooms.models import CareSession, Recording
from rooms.templates import TemplateSpec, create_template
from tests.rooms.desk_support import World, make_world

DAY = 86400.0


def consultation(w: World, customer: str = "c-1") -> str:
    """A consultation accepted, recorded into a folder with one file, and ended."""
    anna = w.operator(f"anna-{customer}", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer(customer, "it"))
    w.desk.accept(cs.id, anna.id)
    return cs.id


def record(w: World, root: Path, session_id: str) -> Recording:
    with w.sessions() as db:
        cs = db.get(CareSession, session_id)
        assert cs is not None
        rec = recordings.start(db, cs, w.clock.now())
        target = recordings.folder(root, rec)
        target.mkdir(parents=True)
        (target / "motion.bin").write_bytes(b"\0" * 251)
        recordings.finish(db, rec.id, w.clock.now(), 1.0, 251, 1)
        db.expunge(rec)
        return rec


def test_consent_is_asked_only_where_the_template_asks_and_can_be_withdrawn(database_url: str) -> None:
    w = make_world(database_url, recording="ask")
    sid = consultation(w)
    with w.sessions() as db:
        cs = db.get(CareSession, sid)
        assert cs is not None
        assert recordings.recording_state(db, cs) == recordings.RecordingState("ask", None)
        assert not recordings.recording_state(db, cs).allowed
        assert recordings.answer_consent(db, sid, True, w.clock.now()).allowed
        assert not recordings.answer_consent(db, sid, False, w.clock.now()).allowed
    kinds = [(e.kind, e.detail) for e in w.desk.events(sid) if e.kind == "recording_consent"]
    assert kinds == [
        ("recording_consent", {"consent": "given"}),
        ("recording_consent", {"consent": "declined"}),
    ]
    w.desk.end(sid, None)
    with w.sessions() as db, pytest.raises(Conflict):
        recordings.answer_consent(db, sid, True, w.clock.now())  # ended


@pytest.mark.parametrize("mode", ["off", "always"])
def test_no_consent_is_taken_where_the_template_does_not_ask(database_url: str, mode: str) -> None:
    w = make_world(database_url, recording=mode)
    sid = consultation(w)
    with w.sessions() as db:
        with pytest.raises(Conflict):
            recordings.answer_consent(db, sid, True, w.clock.now())
        cs = db.get(CareSession, sid)
        assert cs is not None
        assert recordings.recording_state(db, cs).allowed is (mode == "always")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recording", "sometimes"),
        ("recording", ""),
        ("recording_days", 0),
        ("recording_days", 3651),
        ("recording_days", True),
    ],
)
def test_a_template_with_a_bad_recording_setting_is_refused(
    database_url: str, field: str, value: object
) -> None:
    w = make_world(database_url)
    spec = TemplateSpec(name="Lenti", languages=["it"])
    setattr(spec, field, value)
    with w.sessions() as db, pytest.raises(Invalid, match=field):
        create_template(db, w.brand, spec, "admin")


def test_export_lists_the_recordings_and_erasure_deletes_rows_and_files(
    database_url: str, tmp_path: Path
) -> None:
    w = make_world(database_url, recording="always")
    root = tmp_path / "recordings"
    mine, other = consultation(w, "c-1"), consultation(w, "c-2")
    rec, kept = record(w, root, mine), record(w, root, other)
    w.desk.end(mine, None)
    w.desk.end(other, None)
    with w.sessions() as db:
        doc = export(db, by_customer(w.brand.id, "c-1"), w.clock.now())
    [session] = doc["sessions"]
    assert [r["id"] for r in session["recordings"]] == [rec.id]
    assert session["recordings"][0]["files"] == list(recordings.RECORDING_FILES)
    with w.sessions() as db:
        result = erase(db, by_session(db, w.brand.id, mine), "admin", w.clock.now())
    assert result.rows["recordings"] == 1 and result.recording_paths == (rec.path,)
    assert recordings.delete_folders(root, list(result.recording_paths)) == 1
    assert not recordings.folder(root, rec).exists()
    with w.sessions() as db:
        assert db.scalars(select(Recording.id)).all() == [kept.id]  # the other customer's stays
    assert (recordings.folder(root, kept) / "motion.bin").is_file()


def test_retention_deletes_what_is_due_and_nothing_else(database_url: str, tmp_path: Path) -> None:
    w = make_world(database_url, recording="always", recording_days=7)
    short = None
    with w.sessions() as db:
        short = create_template(
            db,
            w.brand,
            TemplateSpec("Lenti", ["it"], ["optics"], recording="always", recording_days=1),
            "admin",
        )
    root = tmp_path / "recordings"
    old = record(w, root, consultation(w, "c-1"))
    w.clock.advance(3 * DAY)
    recent = record(w, root, consultation(w, "c-2"))
    anna = w.operator("anna-short", ["it"], ["optics"])
    cs, _ = w.desk.join(short, Customer("c-3", "it"))
    w.desk.accept(cs.id, anna.id)
    in_short = record(w, root, cs.id)
    # a folder whose row is gone (its erasure committed, the deletion not done)
    stray = root / str(w.brand.id) / "sgone" / "recgone"
    stray.mkdir(parents=True)
    w.clock.advance(1.5 * DAY)  # the short template's recording is 1.5 days old: due; the others not
    apply_retention(w.sessions, w.clock.now(), root)
    with w.sessions() as db:
        assert set(db.scalars(select(Recording.id))) == {old.id, recent.id}
    assert not recordings.folder(root, in_short).exists() and not stray.exists()
    w.clock.advance(3 * DAY)  # old: 7.5 days; recent: 4.5
    apply_retention(w.sessions, w.clock.now(), root)
    with w.sessions() as db:
        assert set(db.scalars(select(Recording.id))) == {recent.id}
    assert not recordings.folder(root, old).exists()
    assert (recordings.folder(root, recent) / "motion.bin").is_file()


def test_a_folder_outside_the_recordings_is_never_named() -> None:
    for bad in ("../etc/passwd", "1/../../x/y", "/abs/a/b", "1/a", "1/a/b/c"):
        with pytest.raises(ValueError):
            recordings.folder(Path("/data/recordings"), bad)
