// Whether this browser's WebGL is drawn in software (SwiftShader, llvmpipe: no GPU, or a headless
// browser), and what the console then gives up so that edge capture keeps the processor.
//
// With WebGL in software, Chromium's GPU process draws on the CPU, and MediaPipe's input (each frame
// is uploaded into a WebGL texture and read back, on either delegate) waits behind whatever else
// that process draws. The console's avatar mirror, antialiased and drawn at every animation frame,
// kept both cores of a two-core machine busy there and made one inference take 3-4 times as long
// as it does alone (docs/live-room.md, "Why edge capture was slow here").

/** The mirror's frames a second when WebGL is in software (on a GPU it draws at every animation frame). */
export const SOFTWARE_MIRROR_FPS = 2;

/** Whether a WebGL renderer's name is a software renderer's. */
export function isSoftwareRenderer(name) {
  return /swiftshader|llvmpipe|softpipe|software/i.test(String(name ?? ""));
}

/**
 * The name of the renderer a new WebGL context gets here (the unmasked one where the browser gives
 * it), or null without WebGL. The probe's context is released at once.
 */
export function webglRendererName(doc = globalThis.document) {
  const gl = doc?.createElement("canvas").getContext("webgl2") ?? doc?.createElement("canvas").getContext("webgl");
  if (!gl) return null;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  return name;
}

/**
 * Whether the mirror should draw at `now` (ms), having last drawn at `last` (ms, or null): always
 * on a GPU, at most `fps` a second in software.
 */
export function mirrorDue(now, last, software, fps = SOFTWARE_MIRROR_FPS) {
  if (!software || last === null) return true;
  // a few ms early is on time: animation frames do not come exactly at the period
  return now - last >= 1000 / fps - 5;
}
