// A small jitter buffer for motion packets: poses are shown a little behind their capture time,
// interpolated between the two packets around that moment (slerp for rotations), so motion is
// smooth at the display's frame rate whatever the network does to the 30 Hz stream.
//
// How far behind is learned from the arrivals (adaptive, the default): a pose at capture time t
// is shown at local time t + lag, and the lag is the one that would have had the next packet
// there in time for 90 % of the last 90 arrivals (three seconds of packets). On a quiet network
// that is about one packet interval (33 ms); it grows when packets come irregularly (a busy
// server, a phone's radio, server capture's uneven inference times) and shrinks again when they
// stop. The lag never jumps: it moves by at most a tenth of the time that passes (the poses play
// at 0.9-1.1x for a moment), and when the next packet is late the playout waits at the newest pose
// instead of running past it, so the motion resumes where it stopped. Learning from the window
// also follows the drift between the sender's clock and this one.
//
// `setExtraDelay(ms)` holds poses that much longer on top; it too moves by at most a tenth of the
// time passing. `setDelayTarget(ms)` (av_sync.js: the voice's buffer is the longer one, and the
// motion waits for it) asks instead for the whole delay, `delayMs`, to be `ms`: the extra hold is
// whatever the lag leaves to it, worked out again at every sample, so when the lag moves (it
// learns the arrivals again after a stall, or waits for a late packet) the hold moves the other
// way and the poses stay as far behind as the voice. A fixed extra hold, set once a second, let
// every change of the lag through until the next measures, seconds later.
//
// `follow(clock)` goes further (av_sync.js, where the browser shows the voice's playout): at every
// pose, `clock(nowMs)` names the capture time the voice heard at that moment was said at, and that
// pose is shown, so the motion moves with the voice itself, not with a measure of it a few times a
// second: it stands still while the voice is made up in a stall, and catches up as the voice's
// buffer plays faster to shrink. It never moves back (it waits instead), catches up at most
// 1 + followSlew times as fast as time passes, and never runs past the newest packet. Where the
// clock has no answer (null: no voice played lately) the buffer's own playout goes on from the
// same pose, with the hold the following had reached. While the voice stands still the body
// stands still with it, but the mouth does not stay open on a voice nobody hears: `follow(clock,
// stillFor)`, with `stillFor(nowMs)` how long the voice has stood still, closes the mouth
// (VISEMES) over `mouthCloseMs`: the receiver has nothing to play then and fades its made-up
// voice out. (Before the voice's moment was read on while its packets came, voice_clock.js, it
// also stood still in every pause, and the avatar kept the last syllable's open mouth there.)
//
// `{ adaptive: false, delayMs }` is the fixed buffer of earlier releases (poses `delayMs` behind
// the least delayed packet), kept for the side-by-side benchmark.
import { seqNewer } from "../src/motion_codec.js";

/** the expressions that shape the mouth for speech (the voice's visemes) */
export const VISEMES = Object.freeze(["aa", "ih", "ou", "ee", "oh"]);

function slerp(a, b, t) {
  let [bx, by, bz, bw] = b;
  let dot = a[0] * bx + a[1] * by + a[2] * bz + a[3] * bw;
  if (dot < 0) { bx = -bx; by = -by; bz = -bz; bw = -bw; dot = -dot; }
  if (dot > 0.9995) {
    const q = [a[0] + t * (bx - a[0]), a[1] + t * (by - a[1]), a[2] + t * (bz - a[2]), a[3] + t * (bw - a[3])];
    const n = Math.hypot(...q);
    return q.map((v) => v / n);
  }
  const theta = Math.acos(dot);
  const s = Math.sin(theta);
  const wa = Math.sin((1 - t) * theta) / s;
  const wb = Math.sin(t * theta) / s;
  return [wa * a[0] + wb * bx, wa * a[1] + wb * by, wa * a[2] + wb * bz, wa * a[3] + wb * bw];
}

/** The q-quantile of a list of numbers (nearest rank). */
export function quantile(values, q) {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const JITTER_DEFAULTS = Object.freeze({
  adaptive: true,
  /** the fixed buffer's delay, and the adaptive one's until arrivals have been measured */
  delayMs: 70,
  /**
   * share of packets that should arrive before the playout needs them: 0.9 measured best on
   * recorded arrivals (benchmarks/jitter_buffer.mjs; 0.95 added 6-22 ms for 1-3 % fewer stills)
   */
  quantile: 0.9,
  /** arrivals the lag is learned from */
  window: 90,
  /** added to the learned lag: timer and event-loop noise at the page */
  marginMs: 2,
  maxDelayMs: 500,
  /** the most setExtraDelay adds (a voice buffer of over a second happens on a starved machine) */
  maxExtraMs: 1500,
  /** fastest change of the lag, as a share of the time that passes */
  slew: 0.1,
  /**
   * fastest change of the hold that follows a delay target (the voice's delay, av_sync.js), and of
   * its release when the target is let go: a stall can make the voice hundreds of ms later at
   * once, and at a tenth of the time passing the motion stayed that much ahead for seconds. A
   * longer hold (the voice came later) is taken as fast as time passes: the poses stand still
   * until they are in step with the voice again (at 0.3, in runs beside other jobs, the bursts
   * within a second or two of such a jump were seen 300-400 ms before they were heard); a shorter
   * one is let go at 0.3 (the poses play at up to 1.3x: skipping ahead would drop a gesture)
   */
  holdSlew: 0.3,
  holdGrowSlew: 1.0,
  /**
   * how much faster than time the followed playout (follow) may catch up: a voice buffer that
   * shrinks plays its voice up to about 1.5x (time-compressed); a faster jump (a flushed buffer)
   * is followed at 2x rather than skipping the gestures in between
   */
  followSlew: 1.0,
  /** how fast the mouth closes once the followed voice stands still (a syllable's release) */
  mouthCloseMs: 80,
  /** a longer silence between packets is a pause, not jitter: the stream starts afresh after it */
  pauseMs: 500,
  /** packets kept: the longest lag and extra hold, at 30 a second */
  capacity: 75,
});

export class JitterBuffer {
  /** @param {Partial<typeof JITTER_DEFAULTS>} [options] */
  constructor(options = {}) {
    this.options = { ...JITTER_DEFAULTS, ...options };
    this.packets = []; // sorted by tMs
    this.lastSeq = null;
    this.dropped = 0;
    /** display frames that found no packet newer than the moment to show (the playout waited) */
    this.waits = 0;
    this.extraMs = 0; // held on top of the lag (setExtraDelay), as it is now
    this.extraTargetMs = 0;
    this.delayTargetMs = null; // the whole delay asked for (setDelayTarget), or none
    this.followsTarget = false; // the hold was set by setDelayTarget (it moves at holdSlew)
    this.behindTargetMs = null; // the same as lag plus extra hold, anchored when it was asked for
    /** packets that came after the playout had passed their moment (shown, if at all, late) */
    this.missed = 0;
    this.clock = null; // follow(): the capture time to show at each moment, or null
    this.stillFor = null; // follow(): how long the followed voice has stood still, or null
    this.followed = false; // the last pose shown was the followed clock's moment
    this.followGapMs = 0; // the pose shown less the clock's moment (never back, the catch-up, waits)
    this._reset();
  }

  _reset() {
    this.epoch = (this.epoch ?? 0) + 1; // a new capture clock: what was mapped onto the old one is not
    this.packets = [];
    this.behindTargetMs = null; // a new capture clock: anchored again from the next packets
    this.lagMs = null; // local time minus the capture time being shown
    this.targetLagMs = null;
    this.offsetMs = null; // fixed buffer: local clock minus capture clock, smallest seen
    this.needs = []; // adaptive: per arrival, the lag that had it in time
    this.offsets = []; // adaptive: per arrival, local clock minus capture clock
    this.floorMs = null; // adaptive: the smallest of those offsets (the least delayed packet)
    this.lastSampleAt = null;
    this.shownMs = null; // the capture time last shown (a followed clock never moves it back)
  }

  /**
   * How far behind the least delayed of the recent packets poses are shown, in ms: the buffer's
   * own share of the latency (about one packet interval on a quiet network).
   */
  get delayMs() {
    if (!this.options.adaptive) return this.options.delayMs + this.extraMs;
    if (this.lagMs === null || this.floorMs === null) return null;
    return this.lagMs + this.extraMs - this.floorMs;
  }

  /**
   * How long the recent packets wait here on average, from their arrival to their moment on
   * screen, in ms (what an audio receiver's jitterBufferDelay per sample measures for the voice).
   */
  get meanWaitMs() {
    if (!this.options.adaptive) {
      return this.offsetMs === null ? null : this.options.delayMs + this.extraMs;
    }
    if (this.lagMs === null || !this.offsets.length) return null;
    const mean = this.offsets.reduce((a, b) => a + b, 0) / this.offsets.length;
    return Math.max(0, this.lagMs + this.extraMs - mean);
  }

  /** Hold poses `ms` longer than the buffer itself would (reached gradually). */
  setExtraDelay(ms) {
    this.delayTargetMs = null;
    this.followsTarget = false;
    this.extraTargetMs = Math.max(0, Math.min(this.options.maxExtraMs, ms));
  }

  /**
   * Hold poses so that `delayMs` is `ms` whatever the lag does (null: no hold): the extra hold is
   * `ms` less the buffer's own delay, from 0 to maxExtraMs, at every sample (reached gradually).
   */
  setDelayTarget(ms) {
    this.delayTargetMs = ms;
    this.followsTarget = true; // and when let go (null), the hold goes as fast as it came
    // How far behind the capture clock poses are to be shown, fixed now: the least delayed packet
    // of the window moves as packets enter and leave it, and a target following it at every frame
    // would move the poses with it; each new target (once a second) takes the window as it is.
    this.behindTargetMs = ms !== null && this.floorMs !== null ? ms + this.floorMs : null;
    if (ms === null) this.extraTargetMs = 0;
  }

  /**
   * Show the capture time `clock(nowMs)` gives at each moment (null from it, or `clock` null: the
   * buffer's own playout); `stillFor(nowMs)`: how long (ms) the voice followed has stood still,
   * over which the mouth closes. See the header. The adaptive buffer only.
   */
  follow(clock, stillFor = null) {
    this.clock = this.options.adaptive ? clock : null;
    this.stillFor = this.clock ? stillFor : null;
  }

  /** `pose` with its mouth closed by `k` (0: as it is, 1: closed); a copy, packets stay as they came. */
  _mouthClosed(pose, k) {
    if (!(k > 0)) return pose;
    const expressions = { ...pose.expressions };
    for (const v of VISEMES) if (v in expressions) expressions[v] *= Math.max(0, 1 - k);
    return { ...pose, expressions };
  }

  _holdForTarget() {
    if (this.delayTargetMs === null) return;
    if (!this.options.adaptive) {
      this.extraTargetMs = Math.max(0, Math.min(this.options.maxExtraMs, this.delayTargetMs - this.options.delayMs));
      return;
    }
    if (this.behindTargetMs === null && this.floorMs !== null) this.behindTargetMs = this.delayTargetMs + this.floorMs;
    if (this.behindTargetMs === null) return;
    this.extraTargetMs = Math.max(0, Math.min(this.options.maxExtraMs, this.behindTargetMs - this.lagMs));
  }

  /** The capture time shown at local time nowMs, before the sample's own adjustments. */
  _playout(nowMs) {
    const behind = this.options.adaptive ? this.lagMs : this.offsetMs + this.options.delayMs;
    return nowMs - behind - this.extraMs;
  }

  /**
   * Add a decoded packet that arrived at local time nowMs. Repeated packets are dropped, and so
   * are those overtaken by a newer one once the playout has passed them.
   */
  push(packet, nowMs) {
    const o = this.options;
    let newest = this.packets.length ? this.packets[this.packets.length - 1] : null;
    if (newest && packet.tMs < newest.tMs - 1000) {
      this._reset(); // the sender restarted its clock (a new operator connection)
      newest = null;
    }
    const playout = newest ? this._playout(nowMs) : -Infinity;
    if (newest && this.lastSeq !== null && !seqNewer(packet.seq, this.lastSeq)) {
      // older than a packet already here: a repeat, or overtaken on the unordered channel. The
      // adaptive buffer still takes it while the playout has not reached it; the fixed one never did.
      if (!o.adaptive || packet.tMs <= playout || this.packets.some((p) => p.seq === packet.seq)) {
        this.dropped += 1;
        return;
      }
    } else {
      this.lastSeq = packet.seq;
      if (newest && packet.tMs < playout) this.missed += 1;
    }
    if (packet.timing) {
      // a tracked frame that came later than the server's filled-in poses (which carry no hop
      // times) replaces those it is older than: they were guesses of the time it now tells
      this.packets = this.packets.filter((p) => p.timing || p.tMs < packet.tMs);
    }
    const offset = nowMs - packet.tMs;
    if (o.adaptive) this._learn(packet, nowMs, offset, newest);
    else if (this.offsetMs === null || offset < this.offsetMs || !this.packets.length) this.offsetMs = offset;
    this.packets.push(packet);
    this.packets.sort((a, b) => a.tMs - b.tMs);
    if (this.packets.length > o.capacity) this.packets.splice(0, this.packets.length - o.capacity);
  }

  _learn(packet, nowMs, offset, newest) {
    const o = this.options;
    if (newest === null || packet.tMs - newest.tMs > o.pauseMs) {
      // the first packet, or the first after a pause: shown at once, the lag learned afresh
      this.needs = [];
      this.offsets = [offset];
      this.floorMs = offset;
      this.lagMs = offset;
      this.targetLagMs = newest === null ? offset + o.delayMs : offset;
      return;
    }
    this.offsets.push(offset);
    if (packet.tMs > newest.tMs) {
      // to interpolate up to this packet the playout, at newest.tMs, needed it already here
      this.needs.push(nowMs - newest.tMs);
    }
    if (this.offsets.length > o.window) this.offsets.splice(0, this.offsets.length - o.window);
    if (this.needs.length > o.window) this.needs.splice(0, this.needs.length - o.window);
    this.floorMs = Math.min(...this.offsets); // once a packet here, not in every frame's delayMs
    if (this.needs.length >= 10) {
      const need = quantile(this.needs, o.quantile) + o.marginMs;
      this.targetLagMs = Math.min(this.floorMs + o.maxDelayMs, Math.max(this.floorMs, need));
    }
  }

  /**
   * The pose sample(nowMs) would give, without moving the buffer on: for watching what the
   * avatar shows between drawn frames (av_sync.js's trace).
   */
  peek(nowMs) {
    const { lagMs, extraMs, extraTargetMs, lastSampleAt, waits, shownMs, followed } = this;
    const pose = this.sample(nowMs);
    Object.assign(this, { lagMs, extraMs, extraTargetMs, lastSampleAt, waits, shownMs, followed });
    return pose;
  }

  /** The pose to show at local time nowMs, or null before the first packet. */
  sample(nowMs) {
    if (!this.packets.length) return null;
    const newest = this.packets[this.packets.length - 1];
    const o = this.options;
    const lookingBack = this.lastSampleAt !== null && nowMs < this.lastSampleAt;
    const elapsed = this.lastSampleAt === null ? null : Math.max(0, nowMs - this.lastSampleAt);
    this.lastSampleAt = nowMs;
    const lagBefore = this.lagMs;
    if (elapsed !== null && o.adaptive) {
      const step = o.slew * elapsed;
      this.lagMs += Math.max(-step, Math.min(step, this.targetLagMs - this.lagMs));
    }
    const wanted = this.clock ? this.clock(nowMs) : null;
    this.followed = typeof wanted === "number" && Number.isFinite(wanted);
    if (this.followed) {
      let t = wanted;
      // (a look back, peek at a moment before the last pose shown, is not clamped to that pose:
      // it asks what the clock said then)
      if (this.shownMs !== null && elapsed !== null && !lookingBack) {
        // never back; forward at most (1 + followSlew) times the time passing
        t = Math.max(this.shownMs, Math.min(this.shownMs + (1 + o.followSlew) * elapsed, t));
      }
      if (t > newest.tMs) {
        this.waits += 1; // the motion is later than the voice: the newest pose waits
        t = newest.tMs;
      }
      this.followGapMs = t - wanted; // for diagnostics: how far the pose shown is from the clock's
      // the hold is whatever puts the playout there: delayMs tells the delay shown, and the
      // buffer's own playout goes on from here when the clock has no answer
      this.extraMs = nowMs - this.lagMs - t;
      this.extraTargetMs = this.extraMs;
      const still = this.stillFor ? this.stillFor(nowMs) : 0;
      return this._mouthClosed(this._poseAt(t), still / o.mouthCloseMs);
    }
    if (elapsed !== null) {
      this._holdForTarget();
      const growing = this.extraTargetMs > this.extraMs;
      // a hold that grows as fast as time passes stops the poses; with the lag's own growth on top
      // it would move them back, so it takes only what the lag leaves
      const holdStep = this.followsTarget
        ? growing
          ? Math.max(0, o.holdGrowSlew * elapsed - Math.max(0, this.lagMs - lagBefore))
          : o.holdSlew * elapsed
        : o.slew * elapsed;
      this.extraMs += Math.max(-holdStep, Math.min(holdStep, this.extraTargetMs - this.extraMs));
    }
    if (this._playout(nowMs) > newest.tMs) {
      this.waits += 1;
      // the next packet is late: the adaptive playout waits at the newest pose rather than run past it
      if (o.adaptive) this.lagMs = nowMs - newest.tMs - this.extraMs;
    }
    return this._poseAt(this._playout(nowMs));
  }

  /** The pose at capture time t: interpolated between the packets around it, never extrapolated. */
  _poseAt(t) {
    this.shownMs = t;
    const ps = this.packets;
    const newest = ps[ps.length - 1];
    if (t <= ps[0].tMs) return ps[0];
    if (t >= newest.tMs) return newest; // hold the newest: never extrapolate
    let i = 1;
    while (ps[i].tMs < t) i += 1;
    const a = ps[i - 1];
    const b = ps[i];
    const k = (t - a.tMs) / (b.tMs - a.tMs);
    const bones = {};
    for (const name of new Set([...Object.keys(a.bones), ...Object.keys(b.bones)])) {
      const qa = a.bones[name] ?? [0, 0, 0, 1];
      const qb = b.bones[name] ?? [0, 0, 0, 1];
      bones[name] = slerp(qa, qb, k);
    }
    const expressions = {};
    for (const name of new Set([...Object.keys(a.expressions), ...Object.keys(b.expressions)])) {
      expressions[name] = (a.expressions[name] ?? 0) * (1 - k) + (b.expressions[name] ?? 0) * k;
    }
    const hipsPosition = a.hipsPosition.map((v, j) => v * (1 - k) + b.hipsPosition[j] * k);
    return { seq: b.seq, tMs: t, bones, expressions, hipsPosition, timing: b.timing };
  }
}
