// The sync marks' ears (room/av_sync.js, `?sync-marks`): on the audio rendering thread, every
// sample of the voice heard is looked at, and each sound's start is posted with its time on the
// audio context's clock. The page's own thread, drawing in software, was seen held for longer
// than any analyser window it could read later, and bursts went unheard.
import { SoundOnsets } from "./sound_onsets.js";

class SoundStarts extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { level, quietMs } = options.processorOptions;
    this.onsets = new SoundOnsets(level, Math.round((quietMs / 1000) * sampleRate));
  }

  process(inputs) {
    const samples = inputs[0]?.[0];
    // currentTime: the context time of this block's first sample
    if (samples) for (const i of this.onsets.push(samples)) this.port.postMessage(currentTime + i / sampleRate);
    return true;
  }
}

registerProcessor("sound-starts", SoundStarts);
