// The binary form of a tracking frame for the operator's landmark channel (rigging/landmark_packet.py
// has the layout and the reasons): about 0.96 KB, one SCTP chunk, where the JSON is 5 to 6 KB.
// encodeLandmarkPacket takes the frame in its JSON shape (docs/retargeting.md) and gives the bytes
// the server's decoder reads; the shared vectors in tests/vectors/landmark_packet.json keep the
// two sides byte for byte the same.

export const BLENDSHAPES = [
  "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
  "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
  "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
  "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
  "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
  "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
  "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
  "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
  "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
  "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
];

const PARTS = [
  // [bit, name, bytes per number, number of numbers]
  [0, "pose_world", 2, 33 * 4],
  [1, "pose_image", 2, 33 * 4],
  [2, "left_hand_world", 2, 21 * 3],
  [3, "right_hand_world", 2, 21 * 3],
  [4, "face_blendshapes", 2, BLENDSHAPES.length],
  [5, "face_matrix", 4, 16],
];
const AGE_BIT = 6;
const HEADER = 16;

function roundHalfEven(v) {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return d > 0.5 ? f + 1 : f;
  return f % 2 === 0 ? f : f + 1;
}

/** IEEE 754 half-precision bits of x, rounded to nearest even (as numpy's float16 conversion). */
export function toHalf(x) {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // beyond the largest half (65504) once rounded: infinity
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // log2 may be off by one near powers of two
  else if (2 ** (e + 1) <= a) e += 1;
  if (e < -14) return sign | roundHalfEven(a / 2 ** -24); // subnormal (1024 is the smallest normal)
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e += 1;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

function numbers(name, value) {
  if (name === "face_blendshapes") return BLENDSHAPES.map((k) => value[k] ?? 0);
  return value.flat();
}

/** The packet for a frame in its JSON shape; captureAgeMs (optional) is how old the camera frame is. */
export function encodeLandmarkPacket(frame, captureAgeMs = null) {
  let present = 0;
  let size = HEADER;
  const parts = [];
  for (const [bit, name, width, count] of PARTS) {
    const value = frame[name];
    if (value === null || value === undefined) continue;
    const flat = numbers(name, value);
    if (flat.length !== count) throw new Error(`${name}: expected ${count} numbers, got ${flat.length}`);
    present |= 1 << bit;
    parts.push([width, flat]);
    size += width * count;
  }
  if (captureAgeMs !== null && captureAgeMs !== undefined) present |= 1 << AGE_BIT;
  const out = new DataView(new ArrayBuffer(size));
  out.setUint8(0, 0x41); // "A"
  out.setUint8(1, 0x4c); // "L"
  out.setUint8(2, 1);
  out.setUint8(3, present);
  out.setFloat64(4, frame.t_ms, true);
  out.setFloat32(12, captureAgeMs ?? 0, true);
  let offset = HEADER;
  for (const [width, flat] of parts) {
    for (const v of flat) {
      if (width === 2) out.setUint16(offset, toHalf(v), true);
      else out.setFloat32(offset, v, true);
      offset += width;
    }
  }
  return out.buffer;
}
