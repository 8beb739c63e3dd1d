import assert from "node:assert/strict";
import { test } from "node:test";

import { isSoftwareRenderer, mirrorDue, SOFTWARE_MIRROR_FPS, webglRendererName } from "../console/software_gl.js";

test("software renderers are told from GPUs by their names", () => {
  for (const name of [
    "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)",
    "llvmpipe (LLVM 15.0.6, 256 bits)",
    "softpipe",
    "Google SwiftShader",
    "Microsoft Basic Render Driver (software)",
  ]) {
    assert.equal(isSoftwareRenderer(name), true, name);
  }
  for (const name of [
    "ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)",
    "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)",
    "Apple M1",
    "WebKit WebGL",
  ]) {
    assert.equal(isSoftwareRenderer(name), false, name);
  }
  assert.equal(isSoftwareRenderer(null), false);
});

test("in software the mirror draws at most its few frames a second; on a GPU at every frame", () => {
  const period = 1000 / SOFTWARE_MIRROR_FPS;
  assert.equal(mirrorDue(1000, null, true), true);
  assert.equal(mirrorDue(1000 + period / 2, 1000, true), false);
  assert.equal(mirrorDue(1000 + period, 1000, true), true);
  assert.equal(mirrorDue(1000 + period - 3, 1000, true), true); // an animation frame a little early
  assert.equal(mirrorDue(1001, 1000, false), true);
  // over ten seconds of 60 animation frames a second, software draws its rate, not more
  let last = null;
  let drawn = 0;
  for (let t = 0; t < 10_000; t += 1000 / 60) {
    if (mirrorDue(t, last, true)) {
      last = t;
      drawn += 1;
    }
  }
  assert.ok(drawn <= 10 * SOFTWARE_MIRROR_FPS + 1 && drawn >= 10 * SOFTWARE_MIRROR_FPS - 1, String(drawn));
});

test("without WebGL there is no renderer to name", () => {
  const doc = { createElement: () => ({ getContext: () => null }) };
  assert.equal(webglRendererName(doc), null);
  assert.equal(webglRendererName(undefined), null);
});
