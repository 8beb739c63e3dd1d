"""Visemes from the operator's voice, for when the face is not tracked.

Per short window (one motion frame, 1/30 s): loudness above an adaptive noise floor sets how far
the mouth opens, and the spectrum's shape sets which vowel it makes. Front vowels (ee, ih) put
their energy high (a second formant near 2 kHz), rounded ones (ou, oh) low (both formants under
1 kHz), open ones (aa) in between; the spectral centroid of 150 Hz – 4 kHz places the window on
that line. Silence closes the mouth. No speech recognition, no model: numpy on the samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

VISEMES: Final = ("aa", "ih", "ou", "ee", "oh")


@dataclass(frozen=True)
class VisemeParams:
    #: Loudness (dB above the noise floor) at which the mouth starts to open, and is fully open.
    open_from_db: float = 6.0
    open_full_db: float = 30.0
    #: How fast the noise floor may rise (dB per second); it falls at once to any quieter window.
    floor_rise_db_per_s: float = 3.0
    #: The floor never goes below this (dBFS): after digital silence (a microphone's noise
    #: suppression, a muted track) speech would otherwise be far above a floor of -180 dB and hold
    #: the mouth wide open through every syllable and dip of a sentence.
    floor_min_db: float = -60.0


@dataclass
class AudioVisemes:
    """Streams windows of mono samples (float, -1..1) into viseme weights."""

    sample_rate: int
    params: VisemeParams = field(default_factory=VisemeParams)
    _floor_db: float | None = None

    def window(self, samples: NDArray[np.floating]) -> dict[str, float]:
        """Viseme weights for one window of samples; all zero in silence."""
        x = np.asarray(samples, dtype=np.float64)
        if x.size < 16 or not np.all(np.isfinite(x)):
            return dict.fromkeys(VISEMES, 0.0)
        x = x - x.mean()
        rms = math.sqrt(float(np.mean(x * x))) + 1e-9
        db = 20.0 * math.log10(rms)
        seconds = x.size / self.sample_rate
        if self._floor_db is None or db < self._floor_db:
            self._floor_db = max(db, self.params.floor_min_db)
        else:
            self._floor_db += self.params.floor_rise_db_per_s * seconds
        above = db - self._floor_db
        p = self.params
        openness = min(1.0, max(0.0, (above - p.open_from_db) / (p.open_full_db - p.open_from_db)))
        if openness <= 0.0:
            return dict.fromkeys(VISEMES, 0.0)

        # Pre-emphasis (as speech front-ends do) tilts the spectrum up so the voice's strong low
        # harmonics do not hide where the formants are.
        emphasized = np.append(x[0], x[1:] - 0.95 * x[:-1])
        spectrum = np.abs(np.fft.rfft(emphasized * np.hanning(x.size)))
        freqs = np.fft.rfftfreq(x.size, 1.0 / self.sample_rate)
        band = (freqs >= 150) & (freqs <= 4000)
        power = spectrum[band] ** 2
        centroid = float(np.sum(freqs[band] * power) / (np.sum(power) + 1e-12))
        front = 1.0 / (1.0 + math.exp(-(centroid - 1700.0) / 250.0))
        rounded = 1.0 / (1.0 + math.exp(-(900.0 - centroid) / 150.0))
        open_vowel = max(0.0, 1.0 - front - rounded)
        return {
            "aa": openness * open_vowel,
            "ee": openness * front * 0.6,
            "ih": openness * front * 0.4,
            "oh": openness * rounded * 0.6,
            "ou": openness * rounded * 0.4,
        }


def visemes_for_signal(
    samples: NDArray[np.floating], sample_rate: int, fps: float = 30.0
) -> list[dict[str, float]]:
    """Viseme weights for each motion frame of a whole recording."""
    step = round(sample_rate / fps)
    analyser = AudioVisemes(sample_rate)
    return [analyser.window(samples[i : i + step]) for i in range(0, len(samples) - step + 1, step)]
