"""The demo operator's voice: encoded once, heard by customers until a real operator speaks."""

import asyncio

import av
import numpy as np

from avatar_care.live.demo_voice import RecordedVoice, encode_opus
from avatar_care.live.ice import use_loopback_only
from avatar_care.live.room import LiveRoom
from tests.avatar_care.live.test_audio_relay import Person
from tests.shared_data import shared

SPEECH = "speech/sense_and_sensibility_01_austen_64kb-0870.wav"


def test_the_recording_is_encoded_to_opus_frames_of_20_ms() -> None:
    payloads = encode_opus(shared(SPEECH))
    decoder = av.CodecContext.create("opus", "r")
    samples = [f.to_ndarray() for p in payloads for f in decoder.decode(av.Packet(p))]
    audio = np.concatenate([s.reshape(-1) for s in samples])
    assert abs(len(payloads) * 0.02 - (7.1 + 1.5)) < 0.2  # the 7.1 s clip and the pause after it
    assert np.std(audio[: 48000 * 3]) > 0.01  # a voice
    assert np.std(audio[-48000:]) < 0.001  # then the pause


async def test_customers_hear_the_demo_until_an_operator_speaks() -> None:
    use_loopback_only()
    room = LiveRoom("demo")
    try:
        room.set_fallback_audio(RecordedVoice(encode_opus(shared(SPEECH))))
        customer = Person("motion", hz=None)
        await customer.connect(lambda sdp: room.customer_offer("c", sdp))
        await asyncio.sleep(1.5)
        assert len(customer.heard) >= 40
        assert abs(customer.loudest_hz() - 600) > 50  # speech, not the operator's tone
        operator = Person("landmarks", hz=600)
        await operator.connect(room.operator_offer)
        await asyncio.sleep(1.5)
        assert abs(customer.loudest_hz() - 600) < 30
        await operator.close()
        heard = len(customer.heard)
        await asyncio.sleep(1.5)  # the operator's connection closes: the demo speaks again
        assert len(customer.heard) - heard >= 40
        await customer.close()
    finally:
        await room.close()
        use_loopback_only(False)
