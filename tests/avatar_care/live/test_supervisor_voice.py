"""Supervisors who coach, with real aiortc peers on loopback: a whisperer's voice reaches the
operator only, a barger's the operator and every customer; a listener is heard by nobody."""

from collections.abc import AsyncIterator

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from avatar_care.live.ice import use_loopback_only
from avatar_care.live.roles import ROLES, SUPERVISING, Role
from avatar_care.live.room import LiveRoom, RoomError
from tests.avatar_care.live.test_audio_mix import levels, until
from tests.avatar_care.live.test_audio_relay import Person

OPERATOR_HZ, CUSTOMER_HZ, SUPERVISOR_HZ = 440, 1000, 2500
#: the spectrum's level at a tone, relative to the strongest peak: above this the tone is heard,
#: below SILENT it is not there (a relayed Opus stream of other tones measures under 0.002 there)
HEARD, SILENT = 0.3, 0.02


@pytest.fixture(autouse=True)
def loopback() -> object:
    use_loopback_only()
    yield
    use_loopback_only(False)


@pytest.fixture
async def room() -> AsyncIterator[LiveRoom]:
    r = LiveRoom("coach")
    yield r
    await r.close()


async def people(room: LiveRoom, role: Role) -> tuple[Person, Person, Person]:
    """An operator singing 440 Hz, a customer 1 kHz, and a supervisor 2.5 kHz in ``role``."""
    operator = Person("landmarks", hz=OPERATOR_HZ)
    await operator.connect(room.operator_offer)
    customer = Person("motion", hz=CUSTOMER_HZ)
    await customer.connect(lambda sdp: room.customer_offer("c", sdp))
    supervisor = Person("motion", hz=SUPERVISOR_HZ)
    await supervisor.connect(lambda sdp: room.offer(role, "boss", sdp))
    # 1.5 s of voice: the mixes start with the second voice and settle within a few frames
    await until(lambda: min(len(operator.heard), len(customer.heard), len(supervisor.heard)) >= 75)
    return operator, customer, supervisor


async def test_a_whisper_reaches_the_operator_and_never_the_customer(room: LiveRoom) -> None:
    operator, customer, supervisor = await people(room, "whisperer")
    operator_hears = levels(operator.heard[-50:], (CUSTOMER_HZ, SUPERVISOR_HZ))
    customer_hears = levels(customer.heard[-50:], (OPERATOR_HZ, SUPERVISOR_HZ))
    supervisor_hears = levels(supervisor.heard[-50:], (OPERATOR_HZ, CUSTOMER_HZ, SUPERVISOR_HZ))
    assert min(operator_hears) > HEARD, operator_hears  # the customer and the whisper, mixed
    assert customer_hears[0] > HEARD and customer_hears[1] < SILENT, customer_hears
    # the supervisor hears the conversation, not their own voice back
    assert min(supervisor_hears[:2]) > HEARD and supervisor_hears[2] < SILENT, supervisor_hears
    assert room.operator_hears.mixing and not room.customers_hear.mixing
    for p in (operator, customer, supervisor):
        await p.close()


async def test_a_barger_is_heard_by_the_operator_and_the_customer(room: LiveRoom) -> None:
    operator, customer, supervisor = await people(room, "barger")
    operator_hears = levels(operator.heard[-50:], (CUSTOMER_HZ, SUPERVISOR_HZ))
    customer_hears = levels(customer.heard[-50:], (OPERATOR_HZ, SUPERVISOR_HZ))
    assert min(operator_hears) > HEARD, operator_hears
    assert min(customer_hears) > HEARD, customer_hears  # the operator and the barger, mixed
    assert room.customers_hear.mixing
    for p in (operator, customer, supervisor):
        await p.close()


async def test_a_listener_is_heard_by_nobody_even_with_a_microphone(room: LiveRoom) -> None:
    operator, customer, supervisor = await people(room, "listener")
    assert levels(operator.heard[-50:], (SUPERVISOR_HZ,))[0] < SILENT
    assert levels(customer.heard[-50:], (SUPERVISOR_HZ,))[0] < SILENT
    assert min(levels(supervisor.heard[-50:], (OPERATOR_HZ, CUSTOMER_HZ))) > HEARD
    for p in (operator, customer, supervisor):
        await p.close()


async def test_a_supervisor_is_in_one_mode_at_a_time_and_leaving_takes_their_voice_out(
    room: LiveRoom,
) -> None:
    operator, customer, whisperer = await people(room, "whisperer")
    barger = Person("motion", hz=SUPERVISOR_HZ)
    await barger.connect(lambda sdp: room.offer("barger", "boss", sdp))  # the same supervisor barges in
    assert "boss" not in room.whisperers and "boss" in room.bargers
    await until(lambda: room.customers_hear.mixing)
    await room.left("barger", "boss")
    assert room.bargers == {} and "barger/boss" not in room.hub.customers
    await until(lambda: not room.customers_hear.mixing and not room.operator_hears.mixing)
    heard = len(customer.heard)
    await until(lambda: len(customer.heard) >= heard + 50)
    assert levels(customer.heard[-40:], (SUPERVISOR_HZ,))[0] < SILENT
    for p in (operator, customer, whisperer, barger):
        await p.close()


async def test_bad_offers_from_supervisors_leave_nothing_behind(room: LiveRoom) -> None:
    for role in SUPERVISING:
        with pytest.raises(RoomError, match="SDP"):
            await room.offer(role, "x", "not an offer")
        assert room.peers[role] == {}
    for role in SUPERVISING:  # audio only, no data channel: enough for every supervisor
        page = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        page.addTransceiver("audio", direction="sendrecv" if ROLES[role].sends_voice else "recvonly")
        await page.setLocalDescription(await page.createOffer())
        answer = await room.offer(role, "x", page.localDescription.sdp)
        # a listener's line only plays; a whisperer's or barger's microphone is taken
        assert ("a=sendonly" in answer) == (not ROLES[role].sends_voice), role
        assert ("a=sendrecv" in answer) == ROLES[role].sends_voice, role
        # the same supervisor in another mode leaves the previous one
        assert [r for r in SUPERVISING if "x" in room.peers[r]] == [role]
        await page.close()


def test_every_role_has_one_entry_that_says_what_it_sends_and_hears() -> None:
    assert set(SUPERVISING) == {"listener", "whisperer", "barger"}
    assert ROLES["whisperer"].voice_to == ("operator",)
    assert set(ROLES["barger"].voice_to) == {"operator", "customers"}
    assert ROLES["listener"].voice_to == ()
    assert {spec.customer_told for spec in ROLES.values() if spec.supervises} == {
        "brand_setting",
        "never",
        "always",
    }


async def test_the_customers_ear_relays_the_operator_encoded_while_nobody_barges(room: LiveRoom) -> None:
    operator = Person("landmarks", hz=OPERATOR_HZ)
    await operator.connect(room.operator_offer)
    customer = Person("motion", hz=None)
    await customer.connect(lambda sdp: room.customer_offer("c", sdp))
    await until(lambda: len(customer.heard) >= 50)
    assert room.customers_hear.stats.mixed == 0 and room.customers_hear.stats.passed >= 50
    for p in (operator, customer):
        await p.close()
