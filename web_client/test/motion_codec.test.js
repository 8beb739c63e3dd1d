// The JavaScript decoder against the shared vectors made by the Python encoder.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { BONES, EXPRESSIONS } from "../src/humanoid.js";
import { decodeMotionPacket, MotionCodecError, seqNewer } from "../src/motion_codec.js";

const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/motion_codec.json", import.meta.url)));
const bytes = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

test("bone and expression order match the vectors' (and so the Python side's)", () => {
  assert.deepEqual([...BONES], vectors.bones);
  assert.deepEqual([...EXPRESSIONS], vectors.expressions);
});

for (const c of vectors.valid) {
  test(`decodes: ${c.name}`, () => {
    const got = decodeMotionPacket(bytes(c.hex));
    const exp = c.expected;
    assert.equal(got.seq, exp.seq);
    assert.equal(got.tMs, exp.t_ms);
    got.hipsPosition.forEach((v, i) => assert.ok(Math.abs(v - exp.hips_position[i]) < 1e-9));
    assert.deepEqual(Object.keys(got.bones).sort(), Object.keys(exp.bones).sort());
    for (const [name, q] of Object.entries(exp.bones)) {
      q.forEach((v, i) => assert.ok(Math.abs(got.bones[name][i] - v) < 1e-6, `${name}[${i}]`));
    }
    assert.deepEqual(Object.keys(got.expressions).sort(), Object.keys(exp.expressions).sort());
    for (const [name, w] of Object.entries(exp.expressions)) assert.ok(Math.abs(got.expressions[name] - w) < 1e-9);
    assert.deepEqual(got.timing, exp.timing);
  });
}

for (const c of vectors.invalid) {
  test(`refuses: ${c.name}`, () => {
    assert.throws(() => decodeMotionPacket(bytes(c.hex)), (err) => err instanceof MotionCodecError &&
      err.message.includes(c.error));
  });
}

test("decodes from an ArrayBuffer as a data channel delivers it", () => {
  const u8 = bytes(vectors.valid[0].hex);
  const got = decodeMotionPacket(u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength));
  assert.equal(got.seq, vectors.valid[0].expected.seq);
});

test("sequence numbers compare across the wrap", () => {
  assert.ok(seqNewer(0, 65535));
  assert.ok(!seqNewer(65535, 0));
  assert.ok(!seqNewer(4, 4));
});
