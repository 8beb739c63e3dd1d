"""benchmarks/profile_groups.py: py-spy's raw stacks given to the parts of the live room."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.profile_groups import OTHER, group_of, samples, shares

LOOP = "_run_once (asyncio/base_events.py:1922)"
SRTP = "protect (pylibsrtp/__init__.py:120)"
SEND = "_send_rtp (aiortc/rtcdtlstransport.py:700)"
VISEMES = "_decode (avatar_care/live/voice_visemes.py:90)"


def test_paths_match_from_a_folder_or_the_start_whether_relative_or_absolute() -> None:
    solver = "solve (rigging/solver.py:40)"
    assert group_of([LOOP, solver]) == "motion solver (rigging)"
    assert group_of([LOOP, "solve (/srv/app/rigging/solver.py:40)"]) == "motion solver (rigging)"
    # a folder whose name only ends in "rigging" is not the solver's
    assert group_of([LOOP, "f (/srv/unrigging/x.py:1)"]) == "asyncio"
    # the landmark packets' decoder is in rigging/ too, and is counted apart
    assert group_of([solver, "decode (rigging/landmark_packet.py:88)"]) == "landmark packets (decoding)"


def test_a_sample_belongs_to_its_innermost_known_frame() -> None:
    # the loop called DTLS, which called SRTP: the packet's protection, not the loop
    assert group_of([LOOP, SEND, SRTP]) == "DTLS and SRTP"
    assert group_of([LOOP, "push (avatar_care/live/motion_hub.py:185)", VISEMES]) == "voice visemes"
    assert group_of([LOOP]) == "asyncio"
    assert group_of(["wait (threading.py:327)"]) == OTHER


def test_shares_add_up_over_files(tmp_path: Path) -> None:
    (tmp_path / "a.raw").write_text(f"{LOOP};{SEND};{SRTP} 30\n{LOOP} 10\n")
    (tmp_path / "b.raw").write_text(f"{LOOP};{VISEMES} 60\n\n")
    found, total = shares(sorted(tmp_path.glob("*.raw")))
    assert total == 100
    assert found == {"voice visemes": 0.6, "DTLS and SRTP": 0.3, "asyncio": 0.1}
    assert list(found) == ["voice visemes", "DTLS and SRTP", "asyncio"]  # largest first


def test_a_line_that_is_not_a_stack_is_refused() -> None:
    with pytest.raises(ValueError, match="line 2"):
        samples([f"{LOOP} 3", "Wrote raw flamegraph data"])


def test_a_stack_with_no_python_frame_counts_as_other() -> None:
    assert samples([f"{LOOP} 3", " 2"]) == {"asyncio": 3, OTHER: 2}
