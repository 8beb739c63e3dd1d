// Voice and motion in step at the customer (EN 301 549 asks at most 100 ms between speech and a
// signer's video). Both leave the server together; here each waits in its own buffer: the voice
// in the browser's audio jitter buffer (then the audio output), the motion in room/jitter_buffer.js.
// Four times a second this measures both waits and delays the earlier one:
//
// - the voice's: how far behind its least delayed arrival of the last 3 s the voice is played
//   (voice_clock.js: its RTP timestamps timed on arrival by a transform on the receiver, and at
//   playout by the receiver's synchronization sources), plus the page's audio output latency (it
//   plays through Web Audio). Where the browser has no RTCRtpScriptTransform, the stats' wait
//   (jitterBufferDelay per emitted sample over the last second, getStats inbound-rtp), which
//   misses uneven arrival and concealment;
// - the motion's: how far behind the least delayed recent packet poses are shown
//   (JitterBuffer.delayMs). Not the packets' mean wait from their arrival: a data channel's
//   messages reach the page on its main thread, late by whatever the page was doing (drawing a
//   frame in software takes hundreds of ms), while the voice's packets reach the audio buffer on
//   threads of their own; the least delayed packet is the one the page took at once.
// - the voice later: with `follow` (the customer page's default; `?hold-voice` turns it off), where
//   the voice's playout is timed, the motion follows it pose by pose
//   (JitterBuffer.follow): each pose shown is the one said at the moment of the voice heard then,
//   on the voice's RTP timeline put on the motion's capture clock by the two streams' least
//   delayed arrivals (both leave the operator on one clock, and the least delayed packets of each
//   took the quickest path; StreamMapping). A stall that makes the voice up, or a
//   voice buffer that shrinks, moves the motion at that moment, where four measures a second let
//   a burst in a stall through 100-480 ms apart. Elsewhere (the stats measure), the motion buffer
//   holds poses until their whole delay is the voice's (setDelayTarget: the hold gives way at
//   every frame to what the buffer's own lag takes);
//   the motion later: the audio receiver's jitterBufferTarget (playoutDelayHint in older
//   browsers) is raised to the motion's wait.
//
// Publishes on `state` (window.avatarCare): avSyncOffsetMs (voice minus motion, after the
// alignment: positive when the voice comes later), and avSync {audioMs, motionMs, extraMs,
// motionTargetMs, audioTargetMs, voiceMeasure ("playout" or "stats"), ...}, avSyncHistory (the
// last ten minutes of them). With `trace`, it also records every 10 ms what is heard (the received voice's
// level) and what the avatar shows at that moment (mouth, blink, right upper arm; whether it followed
// the voice, whether it waited at the newest packet, how far the pose shown was from the voice's
// moment, the pose's capture time and the newest packet's, how old the newest voice arrival and
// the last playout seen are), for tests and diagnostics, in state.trace. With `marks`, it notes when a sharp sound starts in the voice heard
// (on the audio thread: sound_starts_worklet.js) and when the avatar's right arm is raised above
// the shoulder in the buffer's poses, in state.syncMarks {heard: [ms], seen: [ms], ears}
// (performance.now() times): a clap or a tone with a raised arm, sent together by the operator,
// shows the offset as the customer lives it.

import { VISEMES } from "./jitter_buffer.js";
import { prepareVoiceWatch, watchVoice } from "./voice_clock.js";

/** the voice's playout is read this often; the stats every STATS_EVERY reads (once a second) */
const EVERY_MS = 250;
const STATS_EVERY = 4;
/** differences below this are left alone (the measures themselves move by a few ms) */
const DEADBAND_MS = 10;
const TRACE_EVERY_MS = 10;
const HISTORY_ROWS = 2400; // the last ten minutes of measures, for a run's p50/p95
/** at most this share of an interval's voice made up by the receiver for its wait to count */
const MAX_CONCEALED = 0.2;
/**
 * decisions follow the median of this many recent measures: one second's jitter buffer wait
 * moves by tens of ms with the talk (and by far more on a busy machine); the median does not
 * chase a single second, and a real change is followed within three
 */
const MEDIAN_OF = 5;
/**
 * the playout measure (voice_clock.js) does not swing with the talk as the stats do: its median of
 * three reads (0.75 s) follows a voice that a stall made later within a second
 */
const PLAYOUT_MEDIAN_OF = 3;
/**
 * nothing is aligned before this many measures, nor before ALIGN_AFTER_MS from the first: the
 * first seconds, while the page loads its avatar, the motion waits seconds on a busy main thread
 */
const MIN_MEASURES = 3;
const ALIGN_AFTER_MS = 2500;
/**
 * the voice's clock is put on the motion's by the median, over this long, of the difference of
 * their least delayed arrivals (each measured over 3 s): a stall of one stream alone (its packets
 * all late) for less than half of it does not move the mapping, nor do the first seconds after
 * the demo's recording gives way to the operator (the floors mix both senders' clocks for 3 s);
 * a lasting change is followed within half of it. 10 s was tried: the motion's clock changes
 * when an operator's camera is lost (the server's poses go on from the last tracked frame's
 * time, which came as late as its tracking took), and the mouth was out of step with the voice
 * for the 5 s the median took, in one full test run (tests/browser/test_voice_only.py)
 */
export const MAPPING_WINDOW_MS = 6_000;
/**
 * the followed voice is taken as playing this long after its last playout seen: longer, the
 * motion stops following (its own playout goes on from where it stood); a stall the receiver
 * makes up for under this long holds the motion still with the voice
 */
const FOLLOW_STALE_MS = 600;
/** the most the voice is held back for the motion (EN 301 549's 100 ms, with room for the motion buffer's own swings) */
export const MAX_AUDIO_HOLD_MS = 400;
const TRACE_ROWS = 6000;
const MARKS_EVERY_MS = 50;
const MARK_LEVEL = 0.05; // a sound starts: a sample above this after MARK_QUIET_MS below it
const MARK_QUIET_MS = 300; // (a voice that stutters on a busy machine restarts within a sound: not a new one)
const MARK_ARM_Z = -0.4; // the right upper arm's rotation z below this: raised above the shoulder
const MARK_STEP_MS = 2;
const MARK_GAP_MS = 500; // marks closer than this to the previous one are the same event

/**
 * The sample indexes in `x` where a sound starts: a sample above `level` after at least `quiet`
 * samples below it (a sound already there at the window's start is not one).
 */
export function soundStarts(x, level, quiet) {
  const starts = [];
  let below = 0;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]) > level) {
      if (below >= quiet) starts.push(i);
      below = 0;
    } else {
      below += 1;
    }
  }
  return starts;
}

/**
 * The voice's jitter buffer wait in ms over the interval between two inbound-rtp audio stats
 * (the first measure: since the start), or null when no sample left the buffer meanwhile. Never
 * the whole call's average: a wait learned while the connection came up is not today's.
 */
export function audioBufferMs(previous, current) {
  if (!current || current.jitterBufferEmittedCount === undefined) return null;
  const emitted = current.jitterBufferEmittedCount - (previous?.jitterBufferEmittedCount ?? 0);
  const delay = current.jitterBufferDelay - (previous?.jitterBufferDelay ?? 0);
  return emitted > 0 ? (1000 * delay) / emitted : null;
}

/**
 * The share of the voice played in the interval that the receiver made up (concealment: the
 * packets did not come), from two inbound-rtp audio stats; 0 where the browser does not say.
 * A wait measured while most of the voice is made up is not a delay to match: the sender or the
 * network was stalled, and the buffer's figures swing by seconds from one interval to the next.
 */
export function concealedShare(previous, current) {
  if (!current || current.totalSamplesReceived === undefined || current.concealedSamples === undefined) return 0;
  const total = current.totalSamplesReceived - (previous?.totalSamplesReceived ?? 0);
  const concealed = current.concealedSamples - (previous?.concealedSamples ?? 0);
  return total > 0 ? Math.max(0, Math.min(1, concealed / total)) : 1;
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * What to do for one measure: `{motionTargetMs, audioTargetMs}`, the whole delay the motion is
 * held to (null: none) and the audio receiver's target (null: the browser's own), given the voice's
 * wait and the motion's own wait (without any hold); `current` is what is set now, kept within
 * the dead band.
 */
export function alignment(audioMs, motionMs, current = { motionTargetMs: null, audioTargetMs: null }, outputMs = 0) {
  const gap = audioMs - motionMs;
  if (gap > DEADBAND_MS || (current.audioTargetMs === null && gap > 0)) {
    // the voice comes later: hold the motion as long as the voice (the audio buffer finds its own level)
    const held = current.motionTargetMs;
    const motionTargetMs = held !== null && Math.abs(audioMs - held) < DEADBAND_MS / 2 ? held : audioMs;
    return { motionTargetMs, audioTargetMs: null };
  }
  // the motion comes later: the audio waits as long in its buffer (its output adds the rest), up to
  // MAX_AUDIO_HOLD_MS (a busy page's seconds-late motion must not make the conversation's voice
  // wait seconds; and once grown, the browser's audio buffer shrinks back only slowly)
  const target = Math.min(MAX_AUDIO_HOLD_MS, Math.max(0, motionMs - outputMs));
  const audioTargetMs =
    current.audioTargetMs !== null && Math.abs(target - current.audioTargetMs) < DEADBAND_MS / 2 ? current.audioTargetMs : target;
  return { motionTargetMs: null, audioTargetMs };
}

/**
 * Puts the voice's RTP timeline on the motion's capture clock from the two streams' least delayed
 * arrivals: `add(atMs, voiceFloorMs, motionFloorMs)` at each measure (each floor: arrival time
 * less the stream's own time, least of its recent packets); `ms` is what to add to a moment of the
 * voice to get the capture time said at the same moment (the median of the window's differences),
 * or null before any measure. `clear()` when either stream starts a new clock (a new connection, a
 * restarted sender).
 */
export class StreamMapping {
  constructor(windowMs = MAPPING_WINDOW_MS) {
    this.windowMs = windowMs;
    this.rows = [];
    this.ms = null; // worked out when a row comes or goes, not at every pose that reads it
  }

  add(atMs, voiceFloorMs, motionFloorMs) {
    this.rows.push([atMs, voiceFloorMs - motionFloorMs]);
    while (this.rows.length && this.rows[0][0] < atMs - this.windowMs) this.rows.shift();
    this.ms = median(this.rows.map((r) => r[1]));
  }

  clear() {
    this.rows = [];
    this.ms = null;
  }
}

function setAudioTarget(receiver, ms) {
  try {
    if ("jitterBufferTarget" in receiver) receiver.jitterBufferTarget = ms;
    else if ("playoutDelayHint" in receiver) receiver.playoutDelayHint = ms === null ? null : ms / 1000;
  } catch (err) {
    console.info("the audio receiver's delay cannot be set:", err);
  }
}

/**
 * Keep the voice of `receiver` (an RTCRtpReceiver) and the motion of `buffer` (a JitterBuffer) in
 * step. `audioContext`: where the voice is played (its output latency counts); `analyser`: an
 * AnalyserNode on the received voice, for the trace; `align` false: measure and publish only (the
 * benchmark's peer, benchmarks/av_sync.py); `follow`: while the voice is the later one, the motion
 * follows it pose by pose (JitterBuffer.follow), not only the hold. Returns {close()}.
 */
export function syncVoiceAndMotion({ pc, receiver, buffer, state, audioContext, analyser = null, trace = false, marks = false, align = true, follow = false }) {
  let previous = null;
  let current = { motionTargetMs: null, audioTargetMs: null };
  const recent = []; // [audioMs, motionMs] of the last MEDIAN_OF measures that count
  let skipped = 0; // measures left out: the voice was mostly made up by the receiver
  let lastConcealed = 0;
  let lastMeasure = null;
  state.avSyncOffsetMs = null;
  state.avSync = null;
  state.avSyncHistory = [];
  // the page may swap its peer connection (a reconnection): either may be given as a function
  const latest = (x) => (typeof x === "function" ? x() : x);
  const ready = prepareVoiceWatch();
  let watched = null; // the receiver whose voice is timed, and its watch (voice_clock.js)
  let voice = null;
  let tick = 0;
  let firstMeasureAt = null;
  const mapping = new StreamMapping();
  let mappedEpoch = null;
  let outputMs = 0;
  // the motion's capture time said at the moment of the voice heard at nowMs (JitterBuffer.follow)
  const heardMoment = (nowMs) => {
    const ms = mapping.ms;
    if (!voice || ms === null) return null;
    const played = voice.playingAt(nowMs - outputMs, FOLLOW_STALE_MS);
    return played === null ? null : played + ms;
  };
  // how long the voice heard at nowMs has stood still (its mouth closes meanwhile)
  const stillFor = (nowMs) => voice?.stillForMs(nowMs - outputMs) ?? 0;
  const timer = setInterval(async () => {
    tick += 1;
    const rx = latest(receiver);
    const peer = latest(pc);
    if (!rx || !peer) return; // not connected yet
    const now = performance.now();
    const played = rx === watched ? (voice?.delayMs(now) ?? null) : null;
    let buffered = null;
    let concealed = 0;
    if (tick % STATS_EVERY === 0) {
      // the stats once a second: their counters over a shorter interval are mostly noise, and a
      // getStats call costs the page's thread far more than reading the playout
      let inbound = null;
      try {
        const report = await (rx.getStats ? rx.getStats() : peer.getStats());
        report.forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "audio") inbound = s;
        });
      } catch {
        return; // closed, or not connected yet
      }
      buffered = audioBufferMs(previous, inbound);
      concealed = concealedShare(previous, inbound);
      previous = inbound;
      lastConcealed = concealed;
    } else if (played === null) {
      return; // without the playout, the voice is measured once a second
    }
    const waited = buffer.delayMs;
    if ((played === null && buffered === null) || waited === null) return;
    if (played === null && concealed > MAX_CONCEALED) {
      // the voice did not come (a stalled sender, a lost network): the stats' wait is no delay to
      // match (the playout measure needs no such exception: it sees the voice played later)
      skipped += 1;
      state.avSync = { ...(state.avSync ?? {}), skipped };
      return;
    }
    const measure = played === null ? "stats" : "playout";
    if (measure !== lastMeasure) recent.length = 0; // one measure's figures are not the other's
    lastMeasure = measure;
    firstMeasureAt ??= now;
    outputMs = 1000 * ((audioContext?.baseLatency ?? 0) + (audioContext?.outputLatency ?? 0));
    if (measure === "playout") {
      if (buffer.epoch !== mappedEpoch) mapping.clear(); // the motion's sender started a new clock
      mappedEpoch = buffer.epoch;
      const voiceFloor = voice.floorMs;
      if (voiceFloor !== null && buffer.floorMs !== null) mapping.add(now, voiceFloor, buffer.floorMs);
    }
    // the voice's playout against its arrivals where the browser shows both; else the stats' wait
    const audioMs = (played ?? buffered) + outputMs;
    // the motion's own wait: without the hold added here (else the hold would be asked for again)
    const motionMs = waited - buffer.extraMs;
    recent.push([audioMs, motionMs]);
    const keep = measure === "playout" ? PLAYOUT_MEDIAN_OF : MEDIAN_OF;
    while (recent.length > keep) recent.shift();
    const audioMedian = median(recent.map((r) => r[0]));
    const motionMedian = median(recent.map((r) => r[1]));
    if (align && recent.length >= Math.min(keep, MIN_MEASURES) && now - firstMeasureAt >= ALIGN_AFTER_MS) {
      current = alignment(audioMedian, motionMedian, current, outputMs);
      buffer.setDelayTarget(current.motionTargetMs);
      // the voice later, and its playout timed: the motion follows it pose by pose
      buffer.follow(follow && current.motionTargetMs !== null && measure === "playout" ? heardMoment : null, stillFor);
      setAudioTarget(rx, current.audioTargetMs);
    }
    // the offset as it is now: the voice's wait against the motion's with the hold it has reached
    state.avSyncOffsetMs = audioMs - waited;
    state.avSync = {
      audioMs,
      motionMs,
      extraMs: buffer.extraMs,
      extraTargetMs: buffer.extraTargetMs,
      motionTargetMs: current.motionTargetMs,
      audioTargetMs: current.audioTargetMs,
      concealed: lastConcealed,
      skipped,
      voiceMeasure: measure,
      statsMs: buffered === null ? (state.avSync?.statsMs ?? null) : buffered + outputMs,
      voiceSeen: voice?.seen ?? null,
      following: buffer.followed,
      mappingMs: mapping.ms,
    };
    state.avSyncHistory.push({ atMs: now, offsetMs: state.avSyncOffsetMs, ...state.avSync });
    if (state.avSyncHistory.length > HISTORY_ROWS) state.avSyncHistory.shift();
  }, EVERY_MS);

  let tracer = null;
  if (trace) {
    state.trace = [];
    const samples = analyser ? new Float32Array(analyser.fftSize) : null;
    tracer = setInterval(() => {
      const now = performance.now();
      let level = 0;
      if (analyser) {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const v of samples) sum += v * v;
        level = Math.sqrt(sum / samples.length);
      }
      const pose = buffer.peek(now);
      if (!pose) return;
      const mouth = VISEMES.reduce((sum, v) => sum + (pose.expressions[v] ?? 0), 0);
      const arm = pose.bones.rightUpperArm ?? [0, 0, 0, 1];
      // (then, for reading a failure: whether the motion followed the voice, and whether the pose
      // shown waited at the newest packet)
      const newestMs = buffer.packets[buffer.packets.length - 1].tMs;
      const waiting = pose.tMs >= newestMs ? 1 : 0;
      const gap = buffer.followed ? buffer.followGapMs : 0;
      const seen = voice?.seen;
      state.trace.push([now, level, mouth, pose.expressions.blink ?? 0, arm[2], buffer.followed ? 1 : 0, waiting, gap, pose.tMs, newestMs, seen?.arrivalAgeMs ?? -1, seen?.playoutAgeMs ?? -1]);
      if (state.trace.length > TRACE_ROWS) state.trace.splice(0, state.trace.length - TRACE_ROWS);
    }, TRACE_EVERY_MS);
  }
  let marker = null;
  let markSource = null;
  return {
    /** Settled once the voice's arrivals can be timed, or cannot (connect after it: `watch`). */
    ready,
    /**
     * A new connection's audio receiver, before it is negotiated (a transform set on a receiver
     * already playing gets no frames in Chromium): its voice is timed afresh (voice_clock.js;
     * where the browser cannot, the stats measure it).
     */
    watch(rx) {
      if (rx === watched) return;
      voice?.close();
      mapping.clear(); // a new voice timeline
      buffer.follow(null);
      voice = watchVoice(rx);
      watched = rx;
    },
    /** The received voice's source node: `marks` listens to it. */
    listen(source) {
      if (!marks || markSource) return;
      markSource = source;
      marker = watchMarks(source, audioContext, buffer, state);
      // the voice's playout reads beside the marks, for reading an offset (voice_clock.js)
      Object.defineProperty(state.syncMarks, "voiceReads", { enumerable: true, get: () => voice?.reads ?? [] });
    },
    close() {
      clearInterval(timer);
      voice?.close();
      if (tracer) clearInterval(tracer);
      if (marker) clearInterval(marker);
    },
  };
}

function watchMarks(source, ctx, buffer, state) {
  const marks = { heard: [], seen: [], seenDetail: [], leaps: [], ears: null };
  let lastShown = null;
  state.syncMarks = marks;
  let lastHeard = -Infinity;
  let lastSeen = -Infinity;
  let lookedAt = null;
  let raised = true; // an arm already up when watching starts is not a mark
  /** When the sample at `contextTime` on the audio context's clock is heard (performance.now() time). */
  const heardAt = (contextTime) => {
    const stamp = ctx.getOutputTimestamp?.() ?? {};
    return stamp.performanceTime > 0
      ? stamp.performanceTime + 1000 * (contextTime - stamp.contextTime)
      : performance.now() - 1000 * (ctx.currentTime - contextTime);
  };
  const hear = (contextTime) => {
    const t = heardAt(contextTime);
    if (t > lastHeard + MARK_GAP_MS) marks.heard.push((lastHeard = t));
  };
  // the voice: every sample, on the audio thread (sound_starts_worklet.js); where there is no
  // AudioWorklet, an analyser's window searched from this thread (a sound is missed when this
  // thread is held longer than the window)
  let analyser = null;
  let x = null;
  const useAnalyser = () => {
    marks.ears = "analyser";
    analyser = ctx.createAnalyser();
    analyser.fftSize = 32768; // 0.68 s at 48 kHz
    source.connect(analyser);
    x = new Float32Array(analyser.fftSize);
  };
  if (ctx.audioWorklet && typeof AudioWorkletNode === "function") {
    ctx.audioWorklet
      .addModule("/app/room/sound_starts_worklet.js")
      .then(() => {
        const node = new AudioWorkletNode(ctx, "sound-starts", {
          numberOfInputs: 1,
          numberOfOutputs: 0,
          processorOptions: { level: MARK_LEVEL, quietMs: MARK_QUIET_MS },
        });
        node.port.onmessage = (e) => hear(e.data);
        source.connect(node);
        marks.ears = "worklet";
      })
      .catch((err) => {
        console.info("no audio worklet for the sync marks:", err);
        useAnalyser();
      });
  } else {
    useAnalyser();
  }
  return setInterval(() => {
    const now = performance.now();
    if (analyser) {
      analyser.getFloatTimeDomainData(x);
      for (const i of soundStarts(x, MARK_LEVEL, Math.round((MARK_QUIET_MS / 1000) * ctx.sampleRate))) {
        hear(ctx.currentTime - (x.length - i) / ctx.sampleRate);
      }
    }
    // the motion: the poses shown since the last look, every 2 ms
    for (let t = lookedAt ?? now; t <= now; t += MARK_STEP_MS) {
      const pose = buffer.peek(t);
      const z = pose?.bones.rightUpperArm?.[2];
      if (z === undefined) continue;
      if (z < MARK_ARM_Z && !raised && t > lastSeen + MARK_GAP_MS) {
        marks.seen.push((lastSeen = t));
        // for reading an offset: the moment shown, the newest packet's, the voice's moment heard
        // then on the motion's clock (null: not followed), and when this was looked at
        const newest = buffer.packets[buffer.packets.length - 1];
        marks.seenDetail.push([t, pose.tMs, newest?.tMs ?? null, buffer.clock ? buffer.clock(t) : null, now]);
      }
      raised = z < MARK_ARM_Z;
      // the moment shown leaping ahead (more than 30 ms in a 2 ms step), for reading an offset
      if (lastShown !== null && pose.tMs - lastShown > 30 && marks.leaps.length < 500) marks.leaps.push([t, lastShown, pose.tMs, now]);
      lastShown = pose.tMs;
    }
    lookedAt = now + MARK_STEP_MS;
  }, MARKS_EVERY_MS);
}
