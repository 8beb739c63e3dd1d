import assert from "node:assert/strict";
import { test } from "node:test";

import { parseHops } from "../console/hop_figures.js";

const METRICS = `# TYPE avatar_care_hop_ms summary
avatar_care_hop_ms{room="demo",hop="capture",quantile="0.5"} 61.250
avatar_care_hop_ms{room="demo",hop="capture",quantile="0.95"} 98.000
avatar_care_hop_ms{room="demo",hop="render",quantile="0.5"} 40.5
avatar_care_hop_ms{room="other",hop="render",quantile="0.5"} 999
avatar_care_hop_ms{room="a \\"quoted\\" room",hop="send",quantile="0.95"} 3.5
avatar_care_motion_frames_total{room="demo"} 12
`;

test("reads one room's hop quantiles and nothing else", () => {
  assert.deepEqual(parseHops(METRICS, "demo"), { capture: { p50: 61.25, p95: 98 }, render: { p50: 40.5 } });
  assert.deepEqual(parseHops(METRICS, "nowhere"), {});
});

test("a room id with quotes is read back from Prometheus' escaping", () => {
  assert.deepEqual(parseHops(METRICS, 'a "quoted" room'), { send: { p95: 3.5 } });
});
