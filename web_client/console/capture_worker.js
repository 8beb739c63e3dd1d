// Edge capture off the console's main thread: MediaPipe's holistic landmarker in a worker.
// The page hands over each camera frame as an ImageBitmap (transferred, not copied) and gets the
// landmarks back; the page's own thread stays free for the mirror, the connection and the
// operator's clicks. The GPU delegate is tried first where the worker has WebGL2 on a real GPU
// (in an OffscreenCanvas), the CPU one where it has none or only a software renderer.
//
// A classic worker: MediaPipe's loader fetches its wasm glue with importScripts, which module
// workers do not have; its CommonJS build gives its classes through `exports`.
//
// Messages in: {type: "init", vision, model, delegate ("auto", "GPU" or "CPU")} then {type: "frame", bitmap, ts}.
// Messages out: {type: "stage", stage} while starting, then {type: "ready", delegate} or
// {type: "failed", message}; per frame
// {type: "result", ts, inferenceMs, result} (result: the fields the console sends, as plain data).
/* global importScripts */
"use strict";

let landmarker = null;

/** How far the worker's start has got: the page names it if the start never ends. */
function stage(name) {
  postMessage({ type: "stage", stage: name });
}

function plain(result) {
  const rows = (lists) => (lists ?? []).map((list) => list.map((p) => ({ x: p.x, y: p.y, z: p.z, visibility: p.visibility })));
  return {
    poseLandmarks: rows(result.poseLandmarks),
    poseWorldLandmarks: rows(result.poseWorldLandmarks),
    leftHandLandmarks: rows(result.leftHandLandmarks),
    rightHandLandmarks: rows(result.rightHandLandmarks),
    leftHandWorldLandmarks: rows(result.leftHandWorldLandmarks),
    rightHandWorldLandmarks: rows(result.rightHandWorldLandmarks),
    faceBlendshapes: (result.faceBlendshapes ?? []).map((c) => ({
      categories: c.categories.map((k) => ({ categoryName: k.categoryName, score: k.score })),
    })),
  };
}

/**
 * Whether `gl` (WebGL2 or null) runs on a real GPU: a software renderer (SwiftShader, llvmpipe)
 * runs MediaPipe's GPU graph on the CPU far slower than its own CPU delegate does.
 */
function hardware(gl) {
  if (!gl) return false;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return !/swiftshader|llvmpipe|softpipe|software/i.test(renderer);
}

async function init(vision, model, delegate) {
  self.exports = {};
  stage("loading MediaPipe");
  importScripts(`${vision}/vision_bundle.cjs`);
  const { FilesetResolver, HolisticLandmarker } = self.exports;
  stage("resolving wasm");
  const files = await FilesetResolver.forVisionTasks(`${vision}/wasm`);
  // One canvas, one WebGL2 context: the one looked at for the GPU is the one MediaPipe uploads the
  // frames with, on either delegate (given no canvas, MediaPipe makes a context of its own). In a
  // Chromium whose other pages drew in software on a busy machine, a context asked for in this
  // worker was seen never to come (the page then tracks instead: edge_tracker.js).
  stage("checking WebGL2");
  const canvas = new OffscreenCanvas(1, 1);
  const gl = canvas.getContext("webgl2");
  const options = (delegate) => ({
    baseOptions: { modelAssetPath: model, delegate },
    runningMode: "VIDEO",
    outputFaceBlendshapes: true,
    canvas,
  });
  if (delegate === "GPU" || (delegate !== "CPU" && hardware(gl))) {
    try {
      stage("creating GPU landmarker");
      landmarker = await HolisticLandmarker.createFromOptions(files, options("GPU"));
      return "GPU";
    } catch (err) {
      console.info("no GPU delegate in this worker, tracking on the CPU:", err);
    }
  }
  stage("creating CPU landmarker");
  landmarker = await HolisticLandmarker.createFromOptions(files, options("CPU"));
  return "CPU";
}

self.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "init") {
    try {
      postMessage({ type: "ready", delegate: await init(m.vision, m.model, m.delegate) });
    } catch (err) {
      postMessage({ type: "failed", message: String(err) });
    }
  } else if (m.type === "frame") {
    try {
      const started = performance.now();
      const result = landmarker.detectForVideo(m.bitmap, m.ts);
      postMessage({ type: "result", ts: m.ts, inferenceMs: performance.now() - started, result: plain(result) });
    } catch (err) {
      postMessage({ type: "result", ts: m.ts, inferenceMs: null, result: null, error: String(err) });
    } finally {
      m.bitmap.close();
    }
  } else if (m.type === "close") {
    landmarker?.close();
    self.close();
  }
};
