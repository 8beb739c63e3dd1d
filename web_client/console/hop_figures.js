// The latency figures of /metrics (Prometheus text) that the console shows.

// Prometheus label values escape backslash, quote and newline
const unescape = (label) => label.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));

/** This room's hop quantiles from /metrics' Prometheus text: {hop: {p50, p95}}. */
export function parseHops(text, roomId) {
  const hops = {};
  const re = /^avatar_care_hop_ms\{room="((?:[^"\\]|\\.)*)",hop="(\w+)",quantile="([\d.]+)"\} ([\d.eE+-]+)$/;
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (!m || unescape(m[1]) !== roomId) continue;
    hops[m[2]] ??= {};
    hops[m[2]][m[3] === "0.5" ? "p50" : "p95"] = Number(m[4]);
  }
  return hops;
}
