// Where the console's edge capture runs MediaPipe: in a worker (capture_worker.js, the default:
// the page's thread stays free) or on the page's own thread (the earlier way, kept for the
// comparison in docs/live-room.md and as the fallback where a worker cannot track). Both give the
// same {detect(video, ts) -> Promise<result | null>, close()}, result in MediaPipe's shape.

/**
 * @param {{vision: string, model: string, inWorker?: boolean, delegate?: "auto"|"GPU"|"CPU"}} options
 *   `delegate`: "auto" tries the GPU first in the worker (the page's thread keeps the CPU)
 */
export async function startTracker({ vision, model, inWorker = true, delegate = "auto" }) {
  if (inWorker && typeof Worker !== "undefined" && typeof createImageBitmap !== "undefined") {
    try {
      return await workerTracker(vision, model, delegate);
    } catch (err) {
      console.warn("tracking in a worker failed, tracking on the page:", err);
    }
  }
  return pageTracker(vision, model, delegate === "GPU" ? "GPU" : "CPU");
}

async function workerTracker(vision, model, delegate) {
  // named from the site root: bundled, this module's code moves into its page's file (web_client/build.mjs)
  const worker = new Worker("/app/console/capture_worker.js");
  const waiting = new Map(); // ts -> resolve
  const ready = new Promise((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(e.message || "the capture worker failed to start"));
    worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === "ready") resolve(m.delegate);
      else if (m.type === "failed") reject(new Error(m.message));
      else if (m.type === "result") {
        const done = waiting.get(m.ts);
        waiting.delete(m.ts);
        if (m.error) console.warn("tracking a frame failed:", m.error);
        done?.({ result: m.result, inferenceMs: m.inferenceMs });
      }
    };
  });
  worker.postMessage({ type: "init", vision: new URL(vision, location.href).href, model: new URL(model, location.href).href, delegate });
  let used;
  try {
    used = await ready;
  } catch (err) {
    worker.terminate();
    throw err;
  }
  return {
    where: "worker",
    delegate: used,
    async detect(video, ts) {
      const bitmap = await createImageBitmap(video);
      const answer = new Promise((resolve) => waiting.set(ts, resolve));
      worker.postMessage({ type: "frame", bitmap, ts }, [bitmap]); // transferred, not copied
      return answer;
    },
    close() {
      worker.postMessage({ type: "close" });
      for (const done of waiting.values()) done({ result: null, inferenceMs: null });
      waiting.clear();
    },
  };
}

async function pageTracker(vision, model, delegate) {
  const { FilesetResolver, HolisticLandmarker } = await import(`${vision}/vision_bundle.mjs`);
  const files = await FilesetResolver.forVisionTasks(`${vision}/wasm`);
  const landmarker = await HolisticLandmarker.createFromOptions(files, {
    baseOptions: { modelAssetPath: model, delegate },
    runningMode: "VIDEO",
    outputFaceBlendshapes: true,
  });
  return {
    where: "page",
    delegate,
    async detect(video, ts) {
      const started = performance.now();
      const result = landmarker.detectForVideo(video, ts);
      return { result, inferenceMs: performance.now() - started };
    },
    close() {
      landmarker.close();
    },
  };
}
