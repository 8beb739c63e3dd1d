// A recording's motion file (avatar_care/live/recorder.py): records of
// <uint32 ms since the start, uint16 length, motion packet>, little-endian; decoded once, then the
// pose for any moment of the recording is found by its time.
import { decodeMotionPacket } from "../src/motion_codec.js";

const RECORD_HEADER = 6;

/** Every record of the file as {ms, pose} in file order; a packet that does not decode is skipped and counted. */
export function parseMotionFile(buffer) {
  const view = new DataView(buffer);
  const records = [];
  let skipped = 0;
  let offset = 0;
  while (offset + RECORD_HEADER <= view.byteLength) {
    const ms = view.getUint32(offset, true);
    const length = view.getUint16(offset + 4, true);
    offset += RECORD_HEADER;
    if (offset + length > view.byteLength) {
      skipped += 1; // cut short (a recording that did not finish)
      break;
    }
    try {
      records.push({ ms, pose: decodeMotionPacket(new Uint8Array(buffer, offset, length)) });
    } catch {
      skipped += 1;
    }
    offset += length;
  }
  return { records, skipped };
}

/** The pose shown at `ms` of the recording: the newest record not after it (null before the first). */
export function poseAt(records, ms) {
  let lo = 0;
  let hi = records.length - 1;
  if (hi < 0 || records[0].ms > ms) return null;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (records[mid].ms <= ms) lo = mid;
    else hi = mid - 1;
  }
  return records[lo].pose;
}
