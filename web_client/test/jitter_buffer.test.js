import assert from "node:assert/strict";
import { test } from "node:test";

import { JitterBuffer } from "../room/jitter_buffer.js";

const yaw = (deg) => [0, Math.sin((deg * Math.PI) / 360), 0, Math.cos((deg * Math.PI) / 360)];
const packet = (seq, tMs, deg) => ({ seq, tMs, bones: { head: yaw(deg) }, expressions: { aa: deg / 90 }, hipsPosition: [0, 0, 0], timing: null });
const angle = (q) => (2 * Math.atan2(Math.hypot(q[0], q[1], q[2]), q[3]) * 180) / Math.PI;

test("interpolates between packets a fixed delay behind the capture clock", () => {
  const jb = new JitterBuffer(70);
  for (let i = 0; i < 10; i++) jb.push(packet(i, i * 33.3, i * 9), 1000 + i * 33.3); // 9 degrees a frame
  const pose = jb.sample(1000 + 5 * 33.3 + 70 + 16.65); // half way between frames 5 and 6
  assert.ok(Math.abs(angle(pose.bones.head) - 49.5) < 0.01);
  assert.ok(Math.abs(pose.expressions.aa - 0.55) < 1e-6);
});

test("late and repeated packets are dropped; the newest is held, not extrapolated", () => {
  const jb = new JitterBuffer(70);
  jb.push(packet(5, 166, 45), 1000);
  jb.push(packet(4, 133, 36), 1010); // arrives after a newer one
  jb.push(packet(5, 166, 45), 1011);
  assert.equal(jb.dropped, 2);
  assert.ok(Math.abs(angle(jb.sample(5000).bones.head) - 45) < 1e-9);
});

test("sequence numbers wrap, and a restarted sender is followed", () => {
  const jb = new JitterBuffer(0);
  jb.push(packet(65535, 10000, 10), 0);
  jb.push(packet(0, 10033, 20), 33);
  assert.equal(jb.dropped, 0);
  jb.push(packet(3, 0, 80), 100); // a new operator connection: capture clock back to 0
  assert.ok(Math.abs(angle(jb.sample(100).bones.head) - 80) < 1e-9);
});

test("a tracked frame that comes after the server's filled-in poses replaces those it is older than", () => {
  const jb = new JitterBuffer(0);
  const tracked = (seq, tMs, deg) => ({ ...packet(seq, tMs, deg), timing: { landmarksMs: 0, solveMs: 1, sendMs: 1 } });
  jb.push(tracked(0, 0, 0), 0);
  jb.push(packet(1, 50, 0), 50); // filled in: frame 0's pose carried forward
  jb.push(packet(2, 83, 0), 83);
  jb.push(tracked(3, 70, 30), 90); // the real next frame, captured at 70 but late
  assert.deepEqual(jb.packets.map((p) => p.seq), [0, 1, 3]);
  assert.ok(Math.abs(angle(jb.sample(5000).bones.head) - 30) < 1e-9);
});
