// Decoder of the motion packet (docs/motion-codec.md; the encoder is rigging/codec.py).
// A packet carries one whole avatar pose; the page applies it through its jitter buffer.
import { BONES, EXPRESSIONS } from "./humanoid.js";

export const VERSION = 1;
const FLAG_TIMING = 0x01;
const HEADER_BYTES = 18;
const BONE_MASK_BYTES = Math.ceil(BONES.length / 8);
const EXPR_MASK_BYTES = Math.ceil(EXPRESSIONS.length / 8);
const RANGE = Math.SQRT1_2;
const LEVELS = 1023;
const KEEP = [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]];

export class MotionCodecError extends Error {}

/** Whether sequence number a comes after b across the uint16 wrap. */
export function seqNewer(a, b) {
  const d = (a - b + 65536) % 65536;
  return d !== 0 && d < 32768;
}

function readMask(view, offset, bytes, count, what) {
  const ids = [];
  for (let i = 0; i < bytes; i++) {
    const byte = view.getUint8(offset + i);
    for (let bit = 0; bit < 8; bit++) {
      if (byte & (1 << bit)) {
        const id = i * 8 + bit;
        if (id >= count) throw new MotionCodecError(`${what} mask has bits beyond its ${count} entries`);
        ids.push(id);
      }
    }
  }
  return ids;
}

function dequantize(packed) {
  const largest = packed >>> 30;
  const small = [(packed >>> 20) & 1023, (packed >>> 10) & 1023, packed & 1023].map(
    (level) => (level / LEVELS) * 2 * RANGE - RANGE,
  );
  const big = Math.sqrt(Math.max(0, 1 - small[0] ** 2 - small[1] ** 2 - small[2] ** 2));
  const q = [0, 0, 0, 0];
  KEEP[largest].forEach((component, k) => {
    q[component] = small[k];
  });
  q[largest] = big;
  const n = Math.hypot(q[0], q[1], q[2], q[3]);
  return q.map((v) => v / n);
}

/**
 * Decode one packet (ArrayBuffer, TypedArray or DataView).
 * @returns {{seq:number, tMs:number, hipsPosition:number[], bones:Object<string, number[]>,
 *            expressions:Object<string, number>, timing:null|{landmarksMs:number, solveMs:number, sendMs:number}}}
 */
export function decodeMotionPacket(data) {
  const view = ArrayBuffer.isView(data)
    ? new DataView(data.buffer, data.byteOffset, data.byteLength)
    : new DataView(data);
  const length = view.byteLength;
  if (length < HEADER_BYTES + BONE_MASK_BYTES) {
    throw new MotionCodecError(`packet too short: ${length} bytes`);
  }
  const version = view.getUint8(0);
  if (version !== VERSION) throw new MotionCodecError(`unknown format version ${version}`);
  const flags = view.getUint8(1);
  if (flags & ~FLAG_TIMING) throw new MotionCodecError(`unknown flags 0x${flags.toString(16)}`);
  const seq = view.getUint16(2, true);
  const tMs = view.getFloat64(4, true);
  if (!Number.isFinite(tMs)) throw new MotionCodecError("t_ms is not a finite number");
  const hipsPosition = [0, 1, 2].map((i) => view.getInt16(12 + 2 * i, true) / 1000);
  let offset = HEADER_BYTES;
  const boneIds = readMask(view, offset, BONE_MASK_BYTES, BONES.length, "bone");
  offset += BONE_MASK_BYTES;
  if (length < offset + 4 * boneIds.length + EXPR_MASK_BYTES) {
    throw new MotionCodecError(`packet truncated: ${boneIds.length} rotations announced, ${length} bytes in all`);
  }
  const bones = {};
  for (const id of boneIds) {
    bones[BONES[id]] = dequantize(view.getUint32(offset, true));
    offset += 4;
  }
  const exprIds = readMask(view, offset, EXPR_MASK_BYTES, EXPRESSIONS.length, "expression");
  offset += EXPR_MASK_BYTES;
  if (length < offset + exprIds.length) throw new MotionCodecError("packet truncated in the expression weights");
  const expressions = {};
  for (const id of exprIds) {
    expressions[EXPRESSIONS[id]] = view.getUint8(offset) / 255;
    offset += 1;
  }
  let timing = null;
  if (flags & FLAG_TIMING) {
    if (length < offset + 6) throw new MotionCodecError("packet truncated in the timing trailer");
    timing = {
      landmarksMs: view.getUint16(offset, true) / 10,
      solveMs: view.getUint16(offset + 2, true) / 10,
      sendMs: view.getUint16(offset + 4, true) / 10,
    };
    offset += 6;
  }
  if (offset !== length) throw new MotionCodecError(`${length - offset} unexpected byte(s) after the packet`);
  return { seq, tMs, hipsPosition, bones, expressions, timing };
}
