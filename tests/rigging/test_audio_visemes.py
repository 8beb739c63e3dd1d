"""Visemes from a real voice: the mouth opens when she speaks and closes in the silences."""

import wave

import numpy as np
import pytest

from rigging.audio_visemes import AudioVisemes, visemes_for_signal
from tests.shared_data import shared

CLIPS = ("0870", "0880", "0890")


def read(name: str) -> tuple[np.ndarray, int]:
    with wave.open(str(shared(f"speech/sense_and_sensibility_01_austen_64kb-{name}.wav"))) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64) / 32768.0
        return data, w.getframerate()


@pytest.mark.parametrize("clip", CLIPS)
def test_mouth_follows_the_speech_energy(clip: str) -> None:
    x, rate = read(clip)
    frames = visemes_for_signal(x, rate)
    opening = np.array([sum(v.values()) for v in frames])
    step = rate // 30
    level = np.array(
        [
            20 * np.log10(np.sqrt(np.mean(x[i : i + step] ** 2)) + 1e-9)
            for i in range(0, len(x) - step + 1, step)
        ]
    )
    silence = level < np.percentile(level, 10) + 6  # the quietest stretches: pauses between words
    corr = float(np.corrcoef(opening, level)[0, 1])
    print(
        f"{clip}: correlation with the energy envelope {corr:.2f}, mouth open {opening[~silence].mean():.2f} "
        f"in speech, {opening[silence].mean():.3f} in silence"
    )
    assert corr > 0.8
    assert opening[silence].mean() < 0.08
    assert opening[~silence].mean() > 0.4
    assert all(0.0 <= w <= 1.0 for v in frames for w in v.values())


def test_the_vowel_follows_the_spectrum() -> None:
    rate = 16000
    t = np.arange(rate // 30) / rate
    analyser = AudioVisemes(rate)
    analyser.window(np.zeros(t.size) + 1e-5)  # a quiet room first: the noise floor
    low = sum(np.sin(2 * np.pi * f * t) for f in (300, 600, 800)) * 0.2  # energy low: rounded
    high = sum(np.sin(2 * np.pi * f * t) for f in (300, 2300, 2800)) * 0.2  # a strong second formant: front
    rounded, front = analyser.window(low), analyser.window(high)
    assert rounded["oh"] + rounded["ou"] > rounded["ee"] + rounded["ih"]
    assert front["ee"] + front["ih"] > front["oh"] + front["ou"]


def test_silence_and_bad_samples_close_the_mouth() -> None:
    analyser = AudioVisemes(16000)
    assert sum(analyser.window(np.zeros(533)).values()) == 0.0
    assert sum(analyser.window(np.full(533, np.nan)).values()) == 0.0
    assert sum(analyser.window(np.zeros(3)).values()) == 0.0
