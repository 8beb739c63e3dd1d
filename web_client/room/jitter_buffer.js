// A small jitter buffer for motion packets: poses are shown a fixed delay behind their capture
// time, interpolated between the two packets around that moment (slerp for rotations), so motion
// is smooth at the display's frame rate whatever the network does to the 30 Hz stream.
import { seqNewer } from "../src/motion_codec.js";

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

export class JitterBuffer {
  /** @param {number} delayMs how far behind the newest capture time poses are shown */
  constructor(delayMs = 70, capacity = 30) {
    this.delayMs = delayMs;
    this.capacity = capacity;
    this.packets = []; // sorted by tMs
    this.offsetMs = null; // local clock minus capture clock, smallest seen (least delayed packet)
    this.lastSeq = null;
    this.dropped = 0;
  }

  /** Add a decoded packet that arrived at local time nowMs. Late or repeated packets are dropped. */
  push(packet, nowMs) {
    if (this.packets.length) {
      const newest = this.packets[this.packets.length - 1];
      if (packet.tMs < newest.tMs - 1000) {
        this.packets = []; // the sender restarted its clock (a new operator connection)
        this.offsetMs = null;
      } else if (this.lastSeq !== null && !seqNewer(packet.seq, this.lastSeq)) {
        this.dropped += 1; // late or repeated: a newer pose is already here
        return;
      }
    }
    this.lastSeq = packet.seq;
    if (packet.timing) {
      // a tracked frame that came later than the server's filled-in poses (which carry no hop
      // times) replaces those it is older than: they were guesses of the time it now tells
      this.packets = this.packets.filter((p) => p.timing || p.tMs < packet.tMs);
    }
    const offset = nowMs - packet.tMs;
    if (this.offsetMs === null || offset < this.offsetMs || this.packets.length === 0) this.offsetMs = offset;
    this.packets.push(packet);
    this.packets.sort((a, b) => a.tMs - b.tMs);
    if (this.packets.length > this.capacity) this.packets.splice(0, this.packets.length - this.capacity);
  }

  /** The pose to show at local time nowMs, or null before the first packet. */
  sample(nowMs) {
    if (!this.packets.length) return null;
    const t = nowMs - this.offsetMs - this.delayMs;
    const ps = this.packets;
    if (t <= ps[0].tMs) return ps[0];
    if (t >= ps[ps.length - 1].tMs) return ps[ps.length - 1]; // hold the newest: never extrapolate
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
