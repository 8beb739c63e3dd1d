import assert from "node:assert/strict";
import { test } from "node:test";

import { JITTER_DEFAULTS, JitterBuffer } from "../room/jitter_buffer.js";

const yaw = (deg) => [0, Math.sin((deg * Math.PI) / 360), 0, Math.cos((deg * Math.PI) / 360)];
const packet = (seq, tMs, deg) => ({ seq, tMs, bones: { head: yaw(deg) }, expressions: { aa: deg / 90 }, hipsPosition: [0, 0, 0], timing: null });
const angle = (q) => (2 * Math.atan2(Math.hypot(q[0], q[1], q[2]), q[3]) * 180) / Math.PI;

/** A seeded generator of numbers in [0, 1) (mulberry32), so every run sees the same network. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Play a stream through a buffer: packets every 33.3 ms of capture time, arriving `transit(i)`
 * ms later on a local clock that runs `rate` times the sender's, drawn at 60 frames a second.
 * The head turns 0.02 degrees a ms, so the angle shown tells the capture time shown.
 */
function play(buffer, { seconds, transit, rate = 1, from = 0 }) {
  const n = Math.round((seconds * 1000) / 33.3);
  const arrivals = [];
  for (let i = 0; i < n; i++) {
    const tMs = (from + i) * 33.3;
    arrivals.push({ at: 5000 + (tMs + transit(i)) * rate, p: packet((from + i) % 65536, tMs, tMs * 0.02) });
  }
  arrivals.sort((x, y) => x.at - y.at);
  const frames = [];
  let k = 0;
  const end = arrivals[arrivals.length - 1].at;
  for (let now = arrivals[0].at; now <= end; now += 1000 / 60) {
    while (k < arrivals.length && arrivals[k].at <= now) buffer.push(arrivals[k].p, arrivals[k++].at);
    const pose = buffer.sample(now);
    if (pose) frames.push({ now, seq: pose.seq, tMs: pose.tMs, deg: angle(pose.bones.head), delay: buffer.delayMs });
  }
  return frames;
}

test("the fixed buffer interpolates between packets its delay behind the capture clock", () => {
  const jb = new JitterBuffer({ adaptive: false, delayMs: 70 });
  for (let i = 0; i < 10; i++) jb.push(packet(i, i * 33.3, i * 9), 1000 + i * 33.3); // 9 degrees a frame
  const pose = jb.sample(1000 + 5 * 33.3 + 70 + 16.65); // half way between frames 5 and 6
  assert.ok(Math.abs(angle(pose.bones.head) - 49.5) < 0.01);
  assert.ok(Math.abs(pose.expressions.aa - 0.55) < 1e-6);
});

test("on a quiet network the adaptive buffer settles near one packet interval, not 70 ms", () => {
  const rnd = random(1);
  const jb = new JitterBuffer();
  const frames = play(jb, { seconds: 6, transit: () => 10 + rnd() * 2 });
  const settled = frames.filter((f) => f.now > frames[0].now + 3000);
  for (const f of settled) assert.ok(f.delay > 33 && f.delay < 40, `delay ${f.delay}`);
  // and it interpolates: the angle shown matches the capture time shown
  for (const f of settled) assert.ok(Math.abs(f.deg - f.tMs * 0.02) < 0.01);
  assert.ok(jb.waits / frames.length < 0.05, `waited ${jb.waits} of ${frames.length} frames`);
});

test("an irregular network raises the delay until 90 % of packets come in time", () => {
  const rnd = random(2);
  const transit = () => 10 + (rnd() < 0.3 ? rnd() * 60 : rnd() * 3); // a third of them up to 60 ms late
  const adaptive = new JitterBuffer();
  const frames = play(adaptive, { seconds: 20, transit });
  const late = frames.filter((f) => f.now > frames[0].now + 5000);
  const delay = late[late.length - 1].delay;
  assert.ok(delay > 70 && delay < 110, `delay ${delay}`);
  const fixed = new JitterBuffer({ adaptive: false, delayMs: 70 });
  const rnd2 = random(2);
  play(fixed, { seconds: 20, transit: () => 10 + (rnd2() < 0.3 ? rnd2() * 60 : rnd2() * 3) });
  // a late packet is lost to the motion: dropped when a newer one came first, or too late to show
  const lost = (jb) => jb.dropped + jb.missed;
  assert.ok(lost(adaptive) < lost(fixed) / 2, `adaptive lost ${lost(adaptive)}, fixed ${lost(fixed)}`);
  assert.ok(lost(adaptive) < 0.07 * frames.length / 2, `adaptive lost ${lost(adaptive)} of ${frames.length / 2}`);
});

test("the delay never jumps: the poses play at 0.9-1.1x while it changes, and never backwards", () => {
  const rnd = random(3);
  const jb = new JitterBuffer();
  // ten rough seconds, then ten quiet ones: the delay comes back down
  const frames = play(jb, { seconds: 20, transit: (i) => 10 + (i < 300 && rnd() < 0.3 ? rnd() * 60 : rnd() * 2) });
  for (let i = 1; i < frames.length; i++) {
    const played = frames[i].tMs - frames[i - 1].tMs;
    const elapsed = frames[i].now - frames[i - 1].now;
    assert.ok(played >= 0, `backwards by ${played} ms`);
    assert.ok(played <= 1.1 * elapsed + 1e-6, `played ${played} ms in ${elapsed}`);
  }
  assert.ok(frames.at(-1).delay < 40, `delay ${frames.at(-1).delay} after the quiet seconds`);
});

test("when a packet is late the playout waits at the newest pose and resumes from it", () => {
  const jb = new JitterBuffer();
  // regular packets, except that packets 60-65 are held up 200 ms by the network
  const frames = play(jb, { seconds: 4, transit: (i) => (i >= 60 && i <= 65 ? 200 : 10) });
  const stall = frames.filter((f) => f.tMs > 58 * 33.3 && f.tMs < 60 * 33.3 + 1);
  assert.ok(stall.length > 0);
  for (let i = 1; i < frames.length; i++) {
    const played = frames[i].tMs - frames[i - 1].tMs;
    assert.ok(played >= 0 && played <= 1.1 * (frames[i].now - frames[i - 1].now) + 1e-6);
  }
  assert.ok(jb.waits > 5);
});

test("after a pause the next pose is shown at once", () => {
  const jb = new JitterBuffer();
  play(jb, { seconds: 2, transit: () => 10 });
  const arrival = 5000 + 60_000 + 10;
  jb.push(packet(5000, 60_000, 45), arrival); // a minute later on both clocks
  assert.ok(Math.abs(angle(jb.sample(arrival).bones.head) - 45) < 1e-9);
});

test("a local clock that drifts from the sender's is followed (1000 ppm either way)", () => {
  for (const rate of [0.999, 1.001]) {
    const jb = new JitterBuffer();
    const frames = play(jb, { seconds: 60, transit: () => 10, rate });
    const settled = frames.filter((f) => f.now > frames[0].now + 5000);
    for (const f of settled) assert.ok(f.delay > 25 && f.delay < 45, `rate ${rate}: delay ${f.delay}`);
  }
});

test("late and repeated packets are dropped; the newest is held, not extrapolated", () => {
  const jb = new JitterBuffer();
  jb.push(packet(5, 166, 45), 1000);
  jb.push(packet(4, 133, 36), 1010); // arrives after a newer one
  jb.push(packet(5, 166, 45), 1011);
  assert.equal(jb.dropped, 2);
  assert.ok(Math.abs(angle(jb.sample(5000).bones.head) - 45) < 1e-9);
});

test("sequence numbers wrap, and a restarted sender is followed", () => {
  const jb = new JitterBuffer();
  jb.push(packet(65535, 10000, 10), 0);
  jb.push(packet(0, 10033, 20), 33);
  assert.equal(jb.dropped, 0);
  jb.push(packet(3, 0, 80), 100); // a new operator connection: capture clock back to 0
  assert.ok(Math.abs(angle(jb.sample(100).bones.head) - 80) < 1e-9);
});

test("a tracked frame that comes after the server's filled-in poses replaces those it is older than", () => {
  const jb = new JitterBuffer();
  const tracked = (seq, tMs, deg) => ({ ...packet(seq, tMs, deg), timing: { landmarksMs: 0, solveMs: 1, sendMs: 1 } });
  jb.push(tracked(0, 0, 0), 0);
  jb.push(packet(1, 50, 0), 50); // filled in: frame 0's pose carried forward
  jb.push(packet(2, 83, 0), 83);
  jb.push(tracked(3, 70, 30), 90); // the real next frame, captured at 70 but late
  assert.deepEqual(jb.packets.map((p) => p.seq), [0, 1, 3]);
  assert.ok(Math.abs(angle(jb.sample(5000).bones.head) - 30) < 1e-9);
});

test("a packet overtaken on the unordered channel is still shown if it comes before its moment", () => {
  const jb = new JitterBuffer();
  const frames = play(jb, { seconds: 3, transit: (i) => (i === 50 ? 45 : 10) }); // overtaken by 51
  assert.equal(jb.dropped, 0);
  assert.ok(frames.some((f) => f.seq === 50), "the poses towards packet 50 are shown");
  const fixed = new JitterBuffer({ adaptive: false, delayMs: 70 });
  const fixedFrames = play(fixed, { seconds: 3, transit: (i) => (i === 50 ? 45 : 10) });
  assert.ok(!fixedFrames.some((f) => f.seq === 50));
  assert.equal(fixed.dropped, 1); // the earlier buffer dropped every overtaken packet
});

test("an extra delay holds poses that much longer, reached gradually, and peek moves nothing", () => {
  const rnd = random(7);
  const plain = new JitterBuffer();
  const held = new JitterBuffer();
  held.setExtraDelay(60);
  const a = play(plain, { seconds: 6, transit: () => 10 + rnd() * 2 });
  const rnd2 = random(7);
  const b = play(held, { seconds: 6, transit: () => 10 + rnd2() * 2 });
  // a tenth of the time passing: 60 ms more within about 600 ms, and never a jump
  for (let i = 1; i < b.length; i++) assert.ok(b[i].tMs >= b[i - 1].tMs - 1e-9, "the playout went back");
  const late = (frames) => frames.filter((f) => f.now > frames[0].now + 3000);
  const shift = late(a).map((f, i) => f.tMs - late(b)[i].tMs);
  for (const s of shift) assert.ok(Math.abs(s - 60) < 1, `shown ${s} ms later, not 60`);
  assert.ok(Math.abs(held.delayMs - plain.delayMs - 60) < 1);
  assert.ok(Math.abs(held.meanWaitMs - plain.meanWaitMs - 60) < 1);
  assert.ok(plain.meanWaitMs > 15 && plain.meanWaitMs < 40, `waits ${plain.meanWaitMs} ms`);
  // peek: the same pose sample would give, and the buffer as it was
  const now = b[b.length - 1].now + 5;
  const before = JSON.stringify([held.lagMs, held.extraMs, held.lastSampleAt, held.waits]);
  const peeked = held.peek(now);
  assert.equal(JSON.stringify([held.lagMs, held.extraMs, held.lastSampleAt, held.waits]), before);
  assert.deepEqual(held.sample(now), peeked);
});

test("a delay target holds the whole delay while the lag moves beneath it", () => {
  // quiet for 6 s, then a third of the packets up to 200 ms late: the buffer's own lag grows by
  // about 100 ms. Asked for 300 ms in all, the hold gives way to it and the poses stay 300 ms
  // behind (within what a tenth of the time passing lets the hold follow); a fixed extra hold of
  // the same size to begin with lets the lag's growth through.
  const transit = (rnd) => (i) => 10 + (i > 180 && rnd() < 0.3 ? rnd() * 200 : rnd() * 3);
  const targeted = new JitterBuffer();
  targeted.setDelayTarget(300);
  const a = play(targeted, { seconds: 16, transit: transit(random(11)) });
  const plain = new JitterBuffer();
  const b = play(plain, { seconds: 16, transit: transit(random(11)) });
  const settled = (frames) => frames.filter((f) => f.now > frames[0].now + 4000);
  const own = settled(b).map((f) => f.delay);
  assert.ok(Math.max(...own) - Math.min(...own) > 80, `the lag moved ${Math.min(...own)}..${Math.max(...own)} ms`);
  for (const f of settled(a)) assert.ok(Math.abs(f.delay - 300) < 5, `delay ${f.delay} ms, not 300`);
  for (let i = 1; i < a.length; i++) assert.ok(a[i].tMs >= a[i - 1].tMs - 1e-9, "the playout went back");
  const fixed = new JitterBuffer();
  fixed.setExtraDelay(300 - 36); // the quiet lag's delay, about one packet interval
  const c = play(fixed, { seconds: 16, transit: transit(random(11)) });
  const moved = settled(c).map((f) => f.delay);
  assert.ok(Math.max(...moved) - 300 > 30, `a fixed hold reached ${Math.max(...moved)} ms`);
  // no target: no hold (back to the buffer's own delay, gradually)
  targeted.setDelayTarget(null);
  assert.equal(targeted.extraTargetMs, 0);
});

test("a delay target raised at once (the voice made later by a stall) is reached within 0.6 s, without a jump", () => {
  const rnd = random(5);
  const jb = new JitterBuffer();
  jb.setDelayTarget(100);
  const frames = [];
  let next = 0;
  for (let now = 5000; now < 5000 + 8000; now += 1000 / 60) {
    while (5000 + next * 33.3 + 10 + rnd() * 2 <= now) jb.push(packet(next, next * 33.3, next * 33.3 * 0.02), now), (next += 1);
    if (now >= 9000 && jb.delayTargetMs === 100) jb.setDelayTarget(500);
    const pose = jb.sample(now);
    if (pose) frames.push({ now, tMs: pose.tMs, delay: jb.delayMs });
  }
  const at = (ms) => frames.find((f) => f.now >= ms);
  assert.ok(Math.abs(at(8900).delay - 100) < 5, `before: ${at(8900).delay} ms`);
  // 400 ms more: at a tenth of the time passing that took 4 s, at 0.3 about 1.3 s; the poses now
  // stand still for it (the voice it waits for came that much later)
  assert.ok(Math.abs(at(9600).delay - 500) < 5, `0.6 s after: ${at(9600).delay} ms, not 500`);
  for (let i = 1; i < frames.length; i++) {
    const shown = frames[i].tMs - frames[i - 1].tMs;
    const passed = frames[i].now - frames[i - 1].now;
    assert.ok(shown >= -1e-9 && shown <= passed * 1.35 + 1e-6, `a frame moved the poses ${shown} ms in ${passed}`);
  }
});

test("a followed clock is shown pose by pose: it stands still, catches up at most 2x, never goes back or past the newest", () => {
  const rnd = random(9);
  const jb = new JitterBuffer();
  // the voice heard: 150 ms behind the capture clock, made up (standing still) for 200 ms at 7 s,
  // then played faster (1.5x) until it is back where it was
  const voiceAt = (now) => {
    const t = now - 5000 - 150;
    if (t < 2000 - 150) return t;
    if (t < 2000 - 150 + 200) return 2000 - 150; // concealment: the voice's moment stands still
    return Math.min(t, 2000 - 150 + (t - (2000 - 150 + 200)) * 1.5);
  };
  jb.follow((now) => (now >= 6000 ? voiceAt(now) : null));
  const frames = [];
  let next = 0;
  for (let now = 5000; now < 12000; now += 1000 / 60) {
    while (5000 + next * 33.3 + 10 + rnd() * 2 <= now) jb.push(packet(next, next * 33.3, next * 33.3 * 0.02), now), (next += 1);
    const pose = jb.sample(now);
    if (pose) frames.push({ now, tMs: pose.tMs, followed: jb.followed, want: voiceAt(now), gap: jb.followGapMs });
  }
  const following = frames.filter((f) => f.now >= 6100);
  assert.ok(following.every((f) => f.followed));
  // on the voice's moment wherever the 2x limit lets it be
  for (const f of following) assert.ok(Math.abs(f.tMs - f.want) < 1e-6, `shown ${f.tMs}, the voice at ${f.want}`);
  for (const f of following) assert.ok(Math.abs(f.gap) < 1e-6, `a gap of ${f.gap} ms noted`);
  for (let i = 1; i < frames.length; i++) {
    const shown = frames[i].tMs - frames[i - 1].tMs;
    const passed = frames[i].now - frames[i - 1].now;
    assert.ok(shown >= -1e-9 && shown <= 2 * passed + 1e-6, `a frame moved the poses ${shown} ms in ${passed}`);
  }
  // a clock ahead of the packets (no packet for 0.5 s): the newest pose waits
  jb.follow(() => 1e9);
  const waitsBefore = jb.waits;
  const end = 12500;
  const pose = jb.sample(end);
  assert.equal(pose.tMs, jb.packets[jb.packets.length - 1].tMs);
  assert.equal(jb.waits, waitsBefore + 1);
  assert.equal(jb.followGapMs, pose.tMs - 1e9); // noted: the pose shown is that far from the clock's
  // no answer: the buffer's own playout goes on from the pose it stood at, without a jump
  const at = jb.shownMs;
  jb.follow(() => null);
  const after = jb.sample(end + 20);
  assert.ok(after.tMs - at >= -1e-6 && after.tMs - at <= 20 * 1.4, `moved ${after.tMs - at} ms in 20`);
  assert.equal(jb.followed, false);
});

test("while the followed voice stands still the body stands with it and the mouth closes over mouthCloseMs", () => {
  const jb = new JitterBuffer();
  for (let i = 0; i < 90; i++) jb.push(packet(i, i * 33.3, 60), 1000 + i * 33.3 + 10); // a mouth open at aa 2/3
  const stillAt = 3500; // the voice's moment stands still from here (a pause: nothing handed on)
  const moment = 1800;
  jb.follow(
    () => moment,
    (now) => Math.max(0, now - stillAt),
  );
  const open = jb.sample(stillAt);
  assert.ok(Math.abs(open.expressions.aa - 60 / 90) < 1e-9, `aa ${open.expressions.aa}`);
  const half = jb.sample(stillAt + JITTER_DEFAULTS.mouthCloseMs / 2);
  assert.ok(Math.abs(half.expressions.aa - 60 / 180) < 1e-9, `aa ${half.expressions.aa} half way`);
  assert.equal(half.tMs, moment); // the body stands where the voice stands
  const closed = jb.sample(stillAt + JITTER_DEFAULTS.mouthCloseMs + 100);
  assert.equal(closed.expressions.aa, 0);
  assert.equal(closed.tMs, moment);
  // the packets themselves keep their mouth (a look back, or the buffer's own playout, shows it)
  assert.ok(jb.packets.every((p) => p.expressions.aa === 60 / 90));
  // the voice moves again: the mouth is the pose's own at once
  jb.follow(
    () => moment + 20,
    () => 0,
  );
  assert.ok(Math.abs(jb.sample(stillAt + 300).expressions.aa - 60 / 90) < 1e-9);
  // without a stillFor (or not following), nothing closes
  jb.follow(() => moment + 40);
  assert.ok(Math.abs(jb.sample(stillAt + 320).expressions.aa - 60 / 90) < 1e-9);
});
