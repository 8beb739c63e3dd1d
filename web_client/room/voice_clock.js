// The voice's delay at the customer, counted the way the motion's is (room/jitter_buffer.js
// `delayMs`: how far behind the least delayed recent packet the poses are shown), so that
// av_sync.js compares like with like.
//
// Why not the audio receiver's getStats (jitterBufferDelay per emitted sample): that is each
// sample's wait from its own packet's arrival. When the voice comes unevenly (a busy sender, a
// starved network thread) the average packet comes later than the least delayed one and the voice
// is played that much later than its waits say; after a stretch the receiver made up
// (concealment) it is played later again, and the stats do not rise with it. Both moved the
// voice 100-600 ms away from what the stats said on this project's test machine.
//
// Here, instead, both ends of the voice's own timeline (its RTP timestamps, 48 kHz for Opus) are
// timed on the page's clock:
// - arrivals: an RTCRtpScriptTransform on the audio receiver (room/voice_arrivals_worker.js)
//   passes every encoded frame on untouched and reports its RTP timestamp and the time its packet
//   came off the network (the frame's receiveTime, timed by the browser's network thread);
// - playout: the receiver's getSynchronizationSources() names the RTP timestamp of the voice last
//   handed to the track and when.
// The voice's delay is then how far behind its least delayed arrival of the last 3 s the voice
// is played now: playout time less RTP time, less the smallest arrival time less RTP time.

/** Opus's RTP clock: 48 000 ticks a second whatever the sample rate (RFC 7587). */
export const OPUS_TICKS_PER_MS = 48;
/** arrivals the least delayed is taken from (the motion buffer's window is 3 s too) */
export const WINDOW_MS = 3000;
/** a playout entry older than this is not the voice playing now (the sender stopped, or concealment) */
export const STALE_MS = 250;
/**
 * the voice played at a moment is read on from the last playout seen at most this far ahead of it,
 * or of the newest voice arrived, whichever is later: further, the receiver has nothing left to
 * play and is making the voice up (concealment), and what it plays then is no moment of the
 * sender's; the motion that follows the voice (JitterBuffer.follow) stands still. The arrivals
 * count because in the operator's pauses Chromium hands nothing to the track while the voice's
 * packets still come (tests/browser/test_voice_only.py's traces: the last playout seen was 222-248
 * ms old at the 95th percentile of pause rows, 34-57 in speech, while the newest arrival was as
 * recent in both); read on from the playout alone, the motion stood still through every pause.
 */
export const READ_ON_MS = 40;
/** a playout read this much ahead of the voice as taken waits for the next read to agree (played) */
export const AHEAD_MS = 30;
const AGREE_MS = 15;
const READS_KEPT = 3000;

/**
 * Turns 32-bit RTP timestamps into milliseconds on one line that never wraps: each timestamp is
 * taken as the nearest to the previous one (the voice's arrivals and playout are seconds apart at
 * most, the counter wraps after 24 hours at 48 kHz).
 */
export class RtpTimeline {
  constructor(ticksPerMs = OPUS_TICKS_PER_MS) {
    this.ticksPerMs = ticksPerMs;
    this.last = null;
    this.lastTicks = 0;
  }

  ms(rtp) {
    if (this.last === null) {
      this.last = rtp >>> 0;
      return 0;
    }
    this.lastTicks += (rtp - this.last) | 0; // the signed 32-bit difference
    this.last = rtp >>> 0;
    return this.lastTicks / this.ticksPerMs;
  }
}

/** The voice's arrivals and playout on the page's clock (performance.now() ms), and its delay. */
export class VoiceDelay {
  constructor({ windowMs = WINDOW_MS, staleMs = STALE_MS } = {}) {
    this.windowMs = windowMs;
    this.staleMs = staleMs;
    this.timeline = new RtpTimeline();
    this.arrivals = []; // [arrival ms, arrival less RTP time]
    this.playout = null; // {atMs, offsetMs}: the last playout seen
    this.newest = null; // {ms, atMs}: the newest voice arrived (its moment) and when it came
    this.ahead = null; // the offset of a read far ahead, waiting for the next to agree
    this.aheadReads = 0; // reads far ahead (for diagnostics)
    this.reads = []; // the last READS_KEPT playout reads [atMs, offsetMs], for reading a test's failure
  }

  /** A frame with timestamp `rtp` came at `atMs`. */
  arrived(rtp, atMs) {
    const ms = this.timeline.ms(rtp);
    this.arrivals.push([atMs, atMs - ms]);
    if (this.newest === null || ms > this.newest.ms) this.newest = { ms, atMs };
    const since = atMs - this.windowMs;
    let old = 0;
    while (old < this.arrivals.length && this.arrivals[old][0] < since) old += 1;
    if (old) this.arrivals.splice(0, old);
  }

  /**
   * The voice with timestamp `rtp` was handed to the track at `atMs`. A read that puts the voice
   * more than AHEAD_MS ahead of where it was taken to be is taken only once the next read agrees
   * (within AGREE_MS): single reads that far ahead were seen on a quiet machine, the burst they
   * announced heard 100 ms later, while a voice that really moves ahead (its buffer shrinking)
   * does so a few ms a read, or for good. A read that puts it later (the receiver made the voice
   * up meanwhile) is taken at once.
   */
  played(rtp, atMs) {
    const offsetMs = atMs - this.timeline.ms(rtp);
    this.reads.push([atMs, offsetMs]);
    if (this.reads.length > READS_KEPT) this.reads.splice(0, this.reads.length - READS_KEPT);
    const taken = this.playout;
    if (taken === null || offsetMs > taken.offsetMs - AHEAD_MS || (this.ahead !== null && Math.abs(offsetMs - this.ahead) < AGREE_MS)) {
      this.playout = { atMs, offsetMs };
      this.ahead = null;
    } else {
      this.playout = { atMs, offsetMs: taken.offsetMs }; // the voice plays on, where it was taken to be
      this.ahead = offsetMs;
      this.aheadReads += 1;
    }
  }

  /** The least delayed arrival of the window (arrival less RTP time), or null before any. */
  get floorMs() {
    if (!this.arrivals.length) return null;
    let floor = Infinity;
    for (const [, offset] of this.arrivals) floor = Math.min(floor, offset);
    return floor;
  }

  /**
   * How far behind its least delayed recent arrival the voice is played at `nowMs`, or null: no
   * arrivals in the window, or no voice handed to the track lately.
   */
  delayMs(nowMs) {
    const floor = this.floorMs;
    if (floor === null || this.playout === null || nowMs - this.playout.atMs > this.staleMs) return null;
    return this.playout.offsetMs - floor;
  }

  /** The latest moment the voice can be playing: READ_ON_MS past the last played or arrived. */
  _limitMs() {
    const played = this.playout.atMs - this.playout.offsetMs;
    return Math.max(played, this.newest?.ms ?? -Infinity) + READ_ON_MS;
  }

  /**
   * The moment of the voice (on its RTP timeline, ms) handed to the track at `atMs`: the last
   * playout seen, read on at the speed of time as far as READ_ON_MS past it or past the newest
   * voice arrived; null when neither a playout nor an arrival came within `staleMs` (no voice
   * lately).
   */
  playingAt(atMs, staleMs = this.staleMs) {
    if (this.playout === null) return null;
    if (atMs - Math.max(this.playout.atMs, this.newest?.atMs ?? -Infinity) > staleMs) return null;
    return Math.min(atMs - this.playout.offsetMs, this._limitMs());
  }

  /**
   * How long the voice's moment has stood still at `atMs` (0 while it is read on, null before
   * any playout): the receiver has had nothing to play for that long and makes the voice up,
   * fading it out, so the customer hears next to nothing.
   */
  stillForMs(atMs) {
    if (this.playout === null) return null;
    return Math.max(0, atMs - this.playout.offsetMs - this._limitMs());
  }
}

const READ_EVERY_MS = 10;

let arrivalsWorker = null;
let workerRunning = false;
let running = null; // the promise prepareVoiceWatch gives
let generation = 0;

/**
 * Loads the arrivals' worker ahead of the first connection. A receiver's transform is set only
 * once the worker has said it runs: a transform no script handles silences the voice for good.
 * Resolves to whether it runs, false after `timeoutMs` (the stats measure the voice then).
 */
export function prepareVoiceWatch(timeoutMs = 3000) {
  if (running) return running;
  if (typeof RTCRtpScriptTransform !== "function") return (running = Promise.resolve(false));
  running = new Promise((resolve) => {
    try {
      arrivalsWorker = new Worker("/app/room/voice_arrivals_worker.js");
    } catch (err) {
      console.info("the voice's arrivals cannot be timed:", err);
      resolve(false);
      return;
    }
    const timer = setTimeout(() => resolve(false), timeoutMs);
    arrivalsWorker.addEventListener("message", (e) => {
      if (!e.data?.running) return;
      workerRunning = true;
      clearTimeout(timer);
      resolve(true);
    });
    arrivalsWorker.addEventListener("error", (e) => {
      console.info("the voice's arrivals cannot be timed:", e.message);
      clearTimeout(timer);
      resolve(false);
    });
  });
  return running;
}

/**
 * Times the voice of `receiver` (an RTCRtpReceiver of audio, before its connection is negotiated):
 * returns {delayMs(nowMs), seen, close()}, or null where the browser has no RTCRtpScriptTransform
 * or synchronization sources, or the worker is not running yet (the caller then falls back to the
 * stats). The voice itself passes through unchanged.
 */
export function watchVoice(receiver) {
  if (!workerRunning || typeof receiver?.getSynchronizationSources !== "function") return null;
  const delay = new VoiceDelay();
  const id = ++generation;
  try {
    receiver.transform = new RTCRtpScriptTransform(arrivalsWorker, { id });
  } catch (err) {
    console.info("the voice's arrivals cannot be timed:", err);
    return null;
  }
  const onMessage = (e) => {
    const { id: from, frames } = e.data ?? {};
    if (from !== id || !Array.isArray(frames)) return;
    // [rtp, absolute ms, rtp, absolute ms, ...]; the page's clock counts from its own origin
    for (let i = 0; i + 1 < frames.length; i += 2) delay.arrived(frames[i], frames[i + 1] - performance.timeOrigin);
  };
  arrivalsWorker.addEventListener("message", onMessage);
  let lastSeen = null;
  let readAt = -Infinity;
  const read = () => {
    // the motion asks at every pose it shows (and av_sync.js's marks every 2 ms of poses): the
    // receiver hands the voice on in 10 ms frames, so looking more often than that finds nothing new
    const now = performance.now();
    if (now - readAt < READ_EVERY_MS) return;
    readAt = now;
    for (const s of receiver.getSynchronizationSources()) {
      if (s.timestamp === lastSeen) break; // nothing played since the last look
      lastSeen = s.timestamp;
      delay.played(s.rtpTimestamp, s.timestamp - performance.timeOrigin);
      break; // one sender on the customer's voice
    }
  };
  return {
    delayMs(nowMs) {
      read();
      return delay.delayMs(nowMs);
    },
    /** The voice's moment handed to the track at `atMs` (VoiceDelay.playingAt). */
    playingAt(atMs, staleMs) {
      read();
      return delay.playingAt(atMs, staleMs);
    },
    /** How long the voice's moment has stood still at `atMs` (VoiceDelay.stillForMs). */
    stillForMs(atMs) {
      read();
      return delay.stillForMs(atMs);
    },
    /** The last playout reads, [atMs, offsetMs] (VoiceDelay.reads), for diagnostics. */
    get reads() {
      return delay.reads;
    },
    /** The least delayed arrival of the window (VoiceDelay.floorMs), or null. */
    get floorMs() {
      return delay.floorMs;
    },
    /** for diagnostics: arrivals in the window, and how old the last playout seen is */
    get seen() {
      return {
        arrivals: delay.arrivals.length,
        arrivalAgeMs: delay.arrivals.length ? performance.now() - delay.arrivals[delay.arrivals.length - 1][0] : null,
        playoutAgeMs: delay.playout ? performance.now() - delay.playout.atMs : null,
        aheadReads: delay.aheadReads,
      };
    },
    close() {
      arrivalsWorker?.removeEventListener("message", onMessage);
    },
  };
}
