// The console's landmark encoder against the shared vectors made by the Python encoder.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { encodeLandmarkPacket, toHalf } from "../src/landmark_packet.js";

const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/landmark_packet.json", import.meta.url)));
const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

for (const c of vectors.cases) {
  test(`encodes byte for byte: ${c.name}`, () => {
    assert.equal(hex(encodeLandmarkPacket(c.frame, c.capture_age_ms)), c.hex);
  });
}

test("half precision rounds as numpy does", () => {
  // [value, bits] from numpy.float16(value).view(numpy.uint16)
  const cases = [[0, 0x0000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [1e-8, 0x0000],
    [6e-8, 0x0001], [6.1e-5, 0x03ff], [0.1, 0x2e66], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [NaN, 0x7e00]];
  for (const [value, bits] of cases) assert.equal(toHalf(value), bits, String(value));
});
