import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_AUDIO_HOLD_MS, StreamMapping, alignment, audioBufferMs, concealedShare, median, soundStarts } from "../room/av_sync.js";

test("the voice's wait is the jitter buffer's delay per emitted sample over the last interval", () => {
  const before = { jitterBufferDelay: 2400, jitterBufferEmittedCount: 48000 }; // 50 ms a sample
  const after = { jitterBufferDelay: 2400 + 48000 * 0.08, jitterBufferEmittedCount: 96000 }; // then 80
  assert.ok(Math.abs(audioBufferMs(before, after) - 80) < 1e-9);
  assert.ok(Math.abs(audioBufferMs(null, before) - 50) < 1e-9);
  // nothing left the buffer in the interval: no measure (not the call's average so far)
  assert.equal(audioBufferMs(after, after), null);
  assert.equal(audioBufferMs(null, { kind: "audio" }), null); // a browser without the counters
});

test("an interval whose voice the receiver mostly made up is told apart", () => {
  const before = { totalSamplesReceived: 48000, concealedSamples: 0 };
  assert.equal(concealedShare(before, { totalSamplesReceived: 96000, concealedSamples: 4800 }), 0.1);
  assert.equal(concealedShare(before, { totalSamplesReceived: 96000, concealedSamples: 43200 }), 0.9);
  assert.equal(concealedShare(null, before), 0);
  assert.equal(concealedShare(before, before), 1); // nothing played at all
  assert.equal(concealedShare(null, { kind: "audio" }), 0); // a browser that does not say
});

test("decisions follow the median of recent measures", () => {
  assert.equal(median([900, 60, 70]), 70); // one stalled second does not move it
  assert.equal(median([40, 60, 70, 80]), 65);
});

test("the earlier of voice and motion is delayed, and small changes are left alone", () => {
  // the voice waits 80 ms, the motion 40: the motion is held to 80 in all, the audio left alone
  assert.deepEqual(alignment(80, 40), { motionTargetMs: 80, audioTargetMs: null });
  // the motion waits longer: the audio buffer's target becomes the motion's wait less the output's
  assert.deepEqual(alignment(30, 60, undefined, 10), { motionTargetMs: null, audioTargetMs: 50 });
  // within the dead band nothing moves (the measures wobble by a few ms)
  assert.deepEqual(alignment(82, 40, { motionTargetMs: 80, audioTargetMs: null }), { motionTargetMs: 80, audioTargetMs: null });
  assert.deepEqual(alignment(65, 60, { motionTargetMs: null, audioTargetMs: 50 }, 10), { motionTargetMs: null, audioTargetMs: 50 });
  // the motion's own wait changes but the voice's does not: the target stays (the hold follows the lag)
  assert.deepEqual(alignment(80, 60, { motionTargetMs: 80, audioTargetMs: null }), { motionTargetMs: 80, audioTargetMs: null });
  // the motion's wait shrinks well below the voice's: back to holding the motion
  assert.deepEqual(alignment(65, 30, { motionTargetMs: null, audioTargetMs: 50 }, 10), { motionTargetMs: 65, audioTargetMs: null });
});

test("a sound starts where a sample rises above the level after enough quiet", () => {
  const x = new Float32Array(1000);
  for (let i = 300; i < 400; i++) x[i] = 0.3 * Math.sin(i); // a burst
  for (let i = 420; i < 500; i++) x[i] = 0.3 * Math.sin(i); // its echo, too soon after to count
  for (let i = 0; i < 20; i++) x[i] = 0.3; // a sound already there when the window starts
  const starts = soundStarts(x, 0.05, 100);
  assert.equal(starts.length, 1);
  assert.ok(starts[0] >= 300 && starts[0] < 305, String(starts));
});

test("the voice is never held back more than a bounded time for late motion", () => {
  // a page busy loading its avatar shows the motion seconds late: the voice does not wait that long
  assert.deepEqual(alignment(100, 3700), { motionTargetMs: null, audioTargetMs: MAX_AUDIO_HOLD_MS });
  assert.ok(MAX_AUDIO_HOLD_MS >= 100 && MAX_AUDIO_HOLD_MS <= 500);
  assert.deepEqual(alignment(30, 200, undefined, 10), { motionTargetMs: null, audioTargetMs: 190 });
});

test("the voice is put on the motion's clock by both streams' least delayed arrivals, a stall of one alone left out", () => {
  const mapping = new StreamMapping(10_000);
  assert.equal(mapping.ms, null);
  // the voice's timeline starts 700 ms after the capture clock's origin; the quickest packets of
  // both take 20 ms, give or take; for 3 s of the 10 the voice alone is 300 ms late
  const row = (i, stalled) => mapping.add(250 * i, 700 + 20 + (i % 4) + stalled, 20 + (i % 3));
  for (let i = 0; i < 40; i++) row(i, i >= 20 && i < 32 ? 300 : 0);
  assert.ok(Math.abs(mapping.ms - 700) <= 3, `${mapping.ms}`);
  // a lasting change (the sender's voice clock slipped 300 ms) is followed within half the window
  for (let i = 40; i < 62; i++) row(i, 300);
  assert.ok(Math.abs(mapping.ms - 1000) <= 3, `${mapping.ms}`);
  mapping.clear();
  assert.equal(mapping.ms, null);
});
