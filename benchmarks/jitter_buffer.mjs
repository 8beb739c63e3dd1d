// The customer's jitter buffer on recorded arrivals: this release's adaptive buffer beside the
// fixed 70 ms buffer of the previous release.
//
//   node benchmarks/jitter_buffer.mjs TRACE.json [TRACE.json ...]
//
// A trace is real packets' arrival times at real aiortc customers (benchmarks/motion_trace.py,
// recorded by `capacity.py --trace DIR` and `server_capture_loopback.py --trace FILE`). Each
// stream is replayed through a buffer drawn at 60 frames a second, as the customer's page does:
// - "arrival to shown" is the time from a packet's arrival to the first frame that shows a pose at
//   least as new (the page's render hop, without the drawing itself);
// - "late or dropped" are packets the motion never passed through: dropped (overtaken, and behind the
//   playout) or arrived after the playout had passed their moment;
// - "waited" are display frames with nothing newer to show (the motion stood still).
// Prints a table per trace and the ratio of the medians; asserts nothing.
import { readFileSync } from "node:fs";

import { JitterBuffer, quantile } from "../web_client/room/jitter_buffer.js";
import { seqNewer } from "../web_client/src/motion_codec.js";

const FRAME_MS = 1000 / 60;
const BUFFERS = [
  ["fixed 70 ms (previous release)", () => new JitterBuffer({ adaptive: false, delayMs: 70 })],
  ["adaptive (this release)", () => new JitterBuffer()],
];

function replay(stream, make) {
  const buffer = make();
  const arrivals = stream.map(([at, seq, tMs, tracked]) => ({
    at,
    p: { seq, tMs, bones: {}, expressions: {}, hipsPosition: [0, 0, 0], timing: tracked ? {} : null },
  }));
  const pending = new Map(); // seq -> arrival, until a pose that new is shown
  const shown = [];
  const delays = [];
  let frames = 0;
  let k = 0;
  const end = arrivals[arrivals.length - 1].at + 200;
  for (let now = arrivals[0].at; now <= end; now += FRAME_MS) {
    while (k < arrivals.length && arrivals[k].at <= now) {
      const { at, p } = arrivals[k++];
      buffer.push(p, at);
      pending.set(p.seq, at);
    }
    const pose = buffer.sample(now);
    frames += 1;
    if (!pose) continue;
    for (const [seq, at] of pending) {
      if (seq !== pose.seq && !seqNewer(pose.seq, seq)) continue;
      pending.delete(seq);
      shown.push(now - at);
    }
    if (buffer.delayMs !== null) delays.push(buffer.delayMs);
  }
  return { shown, delays, lost: buffer.dropped + buffer.missed, waited: buffer.waits, frames, packets: arrivals.length };
}

function row(cells, widths) {
  return cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ");
}

for (const path of process.argv.slice(2)) {
  const { label, streams } = JSON.parse(readFileSync(path, "utf8"));
  const packets = streams.reduce((n, s) => n + s.length, 0);
  console.log(`\n${label}: ${streams.length} stream(s), ${packets} packets (${path})`);
  const header = ["buffer", "arrival to shown p50 ms", "p95 ms", "buffer delay p50 ms", "late or dropped %", "waited frames %"];
  const rows = [header];
  const medians = [];
  for (const [name, make] of BUFFERS) {
    const runs = streams.filter((s) => s.length > 30).map((s) => replay(s, make));
    const shown = runs.flatMap((r) => r.shown);
    const delays = runs.flatMap((r) => r.delays);
    const sum = (key) => runs.reduce((n, r) => n + r[key], 0);
    medians.push(quantile(shown, 0.5));
    rows.push([
      name,
      quantile(shown, 0.5).toFixed(1),
      quantile(shown, 0.95).toFixed(1),
      delays.length ? quantile(delays, 0.5).toFixed(1) : "-",
      ((100 * sum("lost")) / sum("packets")).toFixed(2),
      ((100 * sum("waited")) / sum("frames")).toFixed(2),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  rows.forEach((r, i) => {
    console.log(row(r, widths));
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("-+-"));
  });
  console.log(`arrival to shown, median: adaptive / fixed = ${(medians[1] / medians[0]).toFixed(2)}`);
}
