import assert from "node:assert/strict";
import { test } from "node:test";

import {
  FIRST_FRAME_TIMEOUT_MS,
  FRAME_TIMEOUT_MS,
  frameTimeout,
  HEAD_START_MS,
  READY_TIMEOUT_MS,
  STAGE_TIMEOUT_MS,
  workerUnavailable,
} from "../console/edge_tracker.js";

test("a browser without what the worker needs tracks on the page, and says why", () => {
  const all = { Worker: class {}, createImageBitmap() {}, OffscreenCanvas: class {} };
  assert.equal(workerUnavailable(all), null);
  assert.equal(workerUnavailable({ ...all, Worker: undefined }), "no Worker");
  assert.equal(workerUnavailable({ ...all, createImageBitmap: undefined }), "no createImageBitmap");
  assert.equal(workerUnavailable({ ...all, OffscreenCanvas: undefined }), "no OffscreenCanvas");
});

test("the worker's head start comes before it is given up, and a quick stage is watched closer", () => {
  assert.ok(HEAD_START_MS < READY_TIMEOUT_MS);
  assert.ok(STAGE_TIMEOUT_MS["checking WebGL2"] < HEAD_START_MS);
});

test("the worker's first frame has longer than the next, which are judged by the slowest so far", () => {
  assert.equal(frameTimeout(null), FIRST_FRAME_TIMEOUT_MS);
  assert.ok(FIRST_FRAME_TIMEOUT_MS > FRAME_TIMEOUT_MS);
  assert.equal(frameTimeout(500), FRAME_TIMEOUT_MS);
  assert.equal(frameTimeout(19_508), 195_080);
});
