// A recording's motion file read back: records in order, the pose at any moment, bad records skipped.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { parseMotionFile, poseAt } from "../playback/motion_track.js";

const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/motion_codec.json", import.meta.url)));
const bytes = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

function motionFile(records) {
  const parts = records.map(([ms, packet]) => {
    const head = new DataView(new ArrayBuffer(6));
    head.setUint32(0, ms, true);
    head.setUint16(4, packet.length, true);
    return [new Uint8Array(head.buffer), packet];
  }).flat();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out.buffer;
}

const [a, b] = vectors.valid.slice(0, 2).map((c) => bytes(c.hex));

test("records come back in order, with the pose of each moment", () => {
  const { records, skipped } = parseMotionFile(motionFile([[0, a], [33, b], [66, a]]));
  assert.equal(skipped, 0);
  assert.deepEqual(records.map((r) => r.ms), [0, 33, 66]);
  assert.equal(poseAt(records, 0), records[0].pose);
  assert.equal(poseAt(records, 32.9), records[0].pose);
  assert.equal(poseAt(records, 33), records[1].pose);
  assert.equal(poseAt(records, 10_000), records[2].pose);
  assert.equal(poseAt([], 5), null);
  assert.equal(poseAt(parseMotionFile(motionFile([[100, a]])).records, 50), null); // before the first
});

test("a packet that does not decode is skipped; a file cut short ends where it was cut", () => {
  const junk = new Uint8Array([9, 9, 9]);
  const whole = motionFile([[0, a], [10, junk], [20, b]]);
  const { records, skipped } = parseMotionFile(whole);
  assert.deepEqual(records.map((r) => r.ms), [0, 20]);
  assert.equal(skipped, 1);
  const cut = parseMotionFile(whole.slice(0, whole.byteLength - 5));
  assert.deepEqual(cut.records.map((r) => r.ms), [0]);
  assert.equal(cut.skipped, 2);
});
