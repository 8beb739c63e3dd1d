import assert from "node:assert/strict";
import { test } from "node:test";

import { SoundOnsets } from "../room/sound_onsets.js";
import { READ_ON_MS, RtpTimeline, STALE_MS, VoiceDelay } from "../room/voice_clock.js";

test("RTP timestamps become one line of milliseconds, across the 32-bit wrap and out of order", () => {
  const line = new RtpTimeline();
  const start = 2 ** 32 - 960; // 20 ms before the counter wraps
  assert.equal(line.ms(start), 0);
  assert.equal(line.ms((start + 960) >>> 0), 20); // wrapped to 0
  assert.equal(line.ms((start + 1920) >>> 0), 40);
  assert.equal(line.ms(start + 480), 10); // an older one (playout reads lag the arrivals)
  assert.equal(line.ms((start + 48000 * 3) >>> 0), 3000);
});

test("the voice's delay is its playout behind its least delayed recent arrival", () => {
  const voice = new VoiceDelay();
  // 20 ms packets; most come 30-70 ms after the least delayed would have (uneven arrival)
  for (let i = 0; i < 150; i++) voice.arrived(1000 + 960 * i, 5000 + 20 * i + (i % 5 === 0 ? 0 : 30 + (i % 3) * 20));
  // the sample of packet 100 is handed to the track at 5000 + 2000 + 250 ms
  voice.played(1000 + 960 * 100, 7250);
  assert.equal(voice.delayMs(7260), 250);
  // what the stats' mean wait from each packet's own arrival would miss: the packets' spread
  const meanLate = 0.8 * 50; // four in five packets 30-70 ms late, 50 on average
  assert.ok(voice.delayMs(7260) - (250 - meanLate) > 30);
  // concealment: nothing handed to the track for longer than STALE_MS: no measure
  assert.equal(voice.delayMs(7250 + 300), null);
  // after it, the voice plays later than before, and the measure says so
  voice.played(1000 + 960 * 110, 7250 + 200 + 400);
  assert.equal(voice.delayMs(7660), 250 + 400);
});

test("arrivals older than the window no longer set the least delayed", () => {
  const voice = new VoiceDelay({ windowMs: 1000 });
  voice.arrived(0, 100); // a packet far earlier than the rest (the network was quicker then)
  for (let i = 1; i <= 100; i++) voice.arrived(960 * i, 100 + 20 * i + 80);
  voice.played(960 * 100, 100 + 2000 + 200);
  assert.equal(voice.delayMs(2300), 120); // 200 behind the old packet's line, 120 behind the window's
  const empty = new VoiceDelay();
  empty.played(0, 0);
  assert.equal(empty.delayMs(0), null); // no arrivals: no measure
});

test("sound starts are found block by block, a quiet stretch counted across blocks", () => {
  const onsets = new SoundOnsets(0.05, 300);
  const block = (f) => Float32Array.from({ length: 128 }, (_, i) => f(i));
  assert.deepEqual(onsets.push(block(() => 0.3)), []); // a sound already there: not one
  for (let k = 0; k < 3; k++) assert.deepEqual(onsets.push(block(() => 0)), []); // 384 quiet samples
  assert.deepEqual(onsets.push(block((i) => (i >= 40 ? 0.3 * Math.sin(i) + 0.2 : 0))), [40]);
  assert.deepEqual(onsets.push(block(() => 0)), []);
  assert.deepEqual(onsets.push(block((i) => (i === 10 ? 0.3 : 0))), []); // an echo after 230 quiet samples
});

test("the voice's moment at a time is read on from its last playout for at most READ_ON_MS", () => {
  const voice = new VoiceDelay();
  voice.arrived(0, 1000);
  voice.played(48 * 500, 1700); // the moment 500 ms handed to the track at 1700
  assert.equal(voice.playingAt(1700), 500);
  assert.equal(voice.playingAt(1690), 490); // earlier times: read back
  assert.equal(voice.playingAt(1700 + READ_ON_MS / 2), 500 + READ_ON_MS / 2);
  // nothing handed on for longer: the receiver may be making the voice up; its moment stands
  assert.equal(voice.playingAt(1700 + 200), 500 + READ_ON_MS);
  assert.equal(voice.playingAt(1700 + STALE_MS + 1), null);
  assert.equal(voice.playingAt(1700 + 500, 600), 500 + READ_ON_MS);
  // how long it has stood still: nothing while it is read on, then the time beyond
  assert.equal(voice.stillForMs(1700 + READ_ON_MS / 2), 0);
  assert.equal(voice.stillForMs(1700 + READ_ON_MS + 30), 30);
  voice.played(48 * 560, 1760); // handed on again
  assert.equal(voice.stillForMs(1770), 0);
  assert.equal(new VoiceDelay().stillForMs(1000), null);
});

test("while the voice's packets still come, its moment is read on though nothing is handed to the track", () => {
  const voice = new VoiceDelay();
  voice.arrived(0, 1000); // the timeline's moment 0
  voice.played(48 * 100, 1200); // moment 100 played at 1200; then a pause: nothing more handed on
  for (let k = 1; k <= 20; k++) voice.arrived(48 * 20 * k, 1000 + 20 * k); // still every 20 ms, to 400 at 1400
  assert.equal(voice.playingAt(1450), 350); // read on at the last delay, past READ_ON_MS from the playout
  assert.equal(voice.stillForMs(1450), 0);
  // the packets stop (a stall): the moment goes READ_ON_MS past the newest arrived, and stands
  assert.equal(voice.playingAt(1600), 400 + READ_ON_MS);
  assert.equal(voice.stillForMs(1600), 500 - (400 + READ_ON_MS));
  // stale once neither a playout nor an arrival came for staleMs
  assert.notEqual(voice.playingAt(1400 + STALE_MS - 1), null);
  assert.equal(voice.playingAt(1400 + STALE_MS + 1), null);
});

test("a playout read far ahead of the voice is taken only once the next read agrees; one behind at once", () => {
  const voice = new VoiceDelay();
  voice.arrived(0, 1000);
  voice.played(48 * 500, 1700);
  voice.played(48 * 600, 1710); // 90 ms ahead in 10 ms: not yet
  assert.equal(voice.playingAt(1710), 510);
  voice.played(48 * 525, 1720); // back where it plays: the read ahead is forgotten
  assert.equal(voice.playingAt(1720), 525);
  voice.played(48 * 620, 1730); // ahead again, and the next read agrees: taken (a flushed buffer)
  voice.played(48 * 630, 1740);
  assert.equal(voice.playingAt(1740), 630);
  voice.played(48 * 560, 1750); // behind (the voice was made up meanwhile): taken at once
  assert.equal(voice.playingAt(1750), 560);
  voice.played(48 * 575, 1760); // a few ms ahead a read (a buffer shrinking): taken at once
  assert.equal(voice.playingAt(1760), 575);
  assert.equal(voice.aheadReads, 2);
});
