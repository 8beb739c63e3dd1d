// Where the console's edge capture runs MediaPipe: in a worker (capture_worker.js, the default:
// the page's thread stays free) or on the page's own thread (the earlier way, kept for the
// comparison in docs/live-room.md and as the fallback where a worker cannot track). Both give the
// same {detect(video, ts) -> Promise<result | null>, close()}, result in MediaPipe's shape.

/**
 * No answer from the worker to a frame within this (or ten times the slowest frame it has
 * answered, when longer): it is stuck, and tracking moves to the page.
 */
export const FRAME_TIMEOUT_MS = 20_000;
/**
 * The first frame's limit: MediaPipe runs its graph for the first time then (its models' first
 * inferences), which took over 20 s in a worker on a busy two-core machine drawing in software,
 * where later frames took 2-6 s. Given up on at 20 s, a worker that was working was closed and
 * the page had to load and warm up a tracker of its own, on its busier thread.
 */
export const FIRST_FRAME_TIMEOUT_MS = 120_000;

/** How long the worker may take with its next frame, given the slowest it has answered (or null). */
export function frameTimeout(slowestMs) {
  return slowestMs === null ? FIRST_FRAME_TIMEOUT_MS : Math.max(FRAME_TIMEOUT_MS, 10 * slowestMs);
}
/**
 * The worker not ready (MediaPipe's wasm and model loaded) within this: the page starts a tracker
 * of its own as well, and the first ready tracks. A few seconds on an ordinary laptop; on a
 * two-core machine drawing in software beside other browsers it can be a minute.
 */
export const HEAD_START_MS = 30_000;
/** The worker not ready within this: it is given up (terminated). */
export const READY_TIMEOUT_MS = 180_000;
/**
 * Stages of the worker's start that take well under a second when they work: over this, the
 * worker is stuck there. A WebGL2 context asked for in a worker (MediaPipe draws each frame into
 * one, on either delegate) was seen never to come in a Chromium whose other pages were drawing
 * in software on a busy machine, while the page's own came at once.
 */
export const STAGE_TIMEOUT_MS = Object.freeze({ "checking WebGL2": 15_000 });

/**
 * Whether this browser can track in a worker: MediaPipe's image input there needs an
 * OffscreenCanvas, and frames reach it as ImageBitmaps. The reason it cannot, or null.
 */
export function workerUnavailable(scope = globalThis) {
  if (typeof scope.Worker === "undefined") return "no Worker";
  if (typeof scope.createImageBitmap === "undefined") return "no createImageBitmap";
  if (typeof scope.OffscreenCanvas === "undefined") return "no OffscreenCanvas";
  return null;
}

/**
 * @param {{vision: string, model: string, inWorker?: boolean, delegate?: "auto"|"GPU"|"CPU", headStartMs?: number}} options
 *   `delegate`: "auto" tries the GPU first in the worker (the page's thread keeps the CPU)
 * The tracker says where it runs (`where`), with which delegate, and, when it runs on the page
 * although a worker was asked for, why (`fallback`).
 */
export async function startTracker({ vision, model, inWorker = true, delegate = "auto", headStartMs = HEAD_START_MS }) {
  const onPage = async (fallback) => {
    const tracker = await pageTracker(vision, model, delegate === "GPU" ? "GPU" : "CPU");
    tracker.fallback = fallback;
    return tracker;
  };
  if (!inWorker) return onPage(null);
  const unavailable = workerUnavailable();
  if (unavailable) return onPage(unavailable);
  const inTheWorker = workerTracker(vision, model, delegate);
  const failed = (err) => {
    console.warn("tracking in a worker failed, tracking on the page:", err);
    return String(err?.message ?? err);
  };
  let late = null;
  const first = await Promise.race([
    inTheWorker.then((t) => ({ t }), (err) => ({ err })),
    new Promise((resolve) => {
      late = setTimeout(() => resolve(null), headStartMs);
    }),
  ]);
  clearTimeout(late);
  if (first?.t) return first.t;
  if (first?.err) return onPage(failed(first.err));
  // The worker has had its head start and is not ready (a busy machine, or stuck): the page starts
  // its own tracker too, and the first one ready tracks; the other is closed when it comes.
  const why = `the capture worker was not ready in ${headStartMs / 1000} s`;
  const onThePage = onPage(why);
  const winner = await Promise.any([inTheWorker, onThePage]).catch((err) => {
    throw err.errors?.at(-1) ?? err;
  });
  for (const other of [inTheWorker, onThePage]) {
    other.then((t) => t !== winner && t.close(), () => {});
  }
  return winner;
}

/**
 * The default (`capture=auto`): the page's thread tracks as soon as its own tracker is loaded and
 * the worker takes over once it has answered a frame. The worker starts first (below); its first
 * frame (MediaPipe's graph run for the first time: about 20 s on a busy two-core machine drawing
 * in software) is tracked beside the page's, which go on meanwhile; then the page's tracker is
 * closed. A worker that cannot start or does not answer that first frame leaves tracking on the
 * page, with the reason. `onChange(tracker)` is called when tracking moves or the worker is given up.
 */
export async function handoverTracker({ vision, model, delegate = "auto", onChange = () => {} }) {
  let worker = null; // the worker's tracker once ready
  let phase = "starting"; // "starting" → "warming" → "worker", or "failed"
  let closed = false;
  let waitingForGl = false;
  const giveUp = (err) => {
    if (closed || phase === "failed") return;
    phase = "failed";
    waitingForGl = false;
    tracker.fallback = String(err?.message ?? err);
    console.warn("tracking stays on the page's thread:", tracker.fallback);
    if (worker) worker.close();
    worker = null;
    onChange(tracker);
  };
  // The worker starts first, while this page's thread is still free: Chromium makes a worker's
  // WebGL context on the page's main thread, and with that thread busy tracking (and drawing the
  // mirror) the worker's context did not come in 15 s, three consultations out of three.
  const unavailable = workerUnavailable();
  if (unavailable) phase = "failed";
  const onStage = (stage) => (waitingForGl = stage === "checking WebGL2");
  const starting = unavailable ? null : workerTracker(vision, model, delegate, onStage);
  starting?.catch(() => {}); // handled below, once the page's tracker is there
  let page;
  try {
    page = await pageTracker(vision, model, delegate === "GPU" ? "GPU" : "CPU");
  } catch (err) {
    starting?.then((t) => t.close(), () => {});
    throw err;
  }
  let current = page;
  const tracker = {
    get where() {
      return current.where;
    },
    get delegate() {
      return current.delegate;
    },
    fallback: null,
    /** "page", "starting", "warming" (the worker's first frame), "worker" or "failed". */
    get phase() {
      return phase;
    },
    async detect(video, ts) {
      if (phase === "warming" && worker && !warming) warm(video, ts);
      // the page's thread is left free while the worker waits for its WebGL context (above)
      if (waitingForGl && current === page) return { result: null, inferenceMs: null };
      return current.detect(video, ts);
    },
    close() {
      closed = true;
      current.close();
      if (worker && worker !== current) worker.close();
    },
  };
  if (unavailable) tracker.fallback = unavailable;
  starting?.then((t) => {
    if (closed) return t.close();
    worker = t;
    if (phase === "starting") phase = "warming";
  }, giveUp);
  let warming = false;
  function warm(video, ts) {
    warming = true;
    worker.detect(video, ts).then(() => {
      if (closed || phase !== "warming") return;
      phase = "worker";
      page.close();
      current = worker;
      console.info("capture worker: tracking (the page's tracker closed)");
      onChange(tracker);
    }, giveUp);
  }
  return tracker;
}

/** The worker stopped answering: tracking goes on on the page. */
export class WorkerStuck extends Error {}

async function workerTracker(vision, model, delegate, onStage = () => {}) {
  // named from the site root: bundled, this module's code moves into its page's file (web_client/build.mjs)
  const started = performance.now();
  const since = () => `${Math.round(performance.now() - started)} ms`;
  const worker = new Worker("/app/console/capture_worker.js");
  const waiting = new Map(); // ts -> resolve
  const stages = []; // how far its start got, for the error when it does not get there
  let stageTimer = null;
  const ready = new Promise((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(e.message || "the capture worker failed to start"));
    worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === "stage") {
        stages.push(m.stage);
        console.info(`capture worker: ${m.stage} at ${since()}`);
        onStage(m.stage);
        clearTimeout(stageTimer);
        const limit = STAGE_TIMEOUT_MS[m.stage];
        if (limit) {
          stageTimer = setTimeout(() => reject(new Error(`the capture worker's ${m.stage} took over ${limit / 1000} s`)), limit);
        }
      } else if (m.type === "ready") {
        onStage(null);
        console.info(`capture worker: ready (${m.delegate}) at ${since()}`);
        resolve(m.delegate);
      }
      else if (m.type === "failed") reject(new Error(m.message));
      else if (m.type === "result") {
        const done = waiting.get(m.ts);
        waiting.delete(m.ts);
        if (m.error) console.warn("tracking a frame failed:", m.error);
        done?.({ result: m.result, inferenceMs: m.inferenceMs });
      }
    };
  });
  const timeout = setTimeout(
    () => worker.onerror({ message: `the capture worker was not ready in ${READY_TIMEOUT_MS / 1000} s (${stages.at(-1) ?? "not started"})` }),
    READY_TIMEOUT_MS,
  );
  ready
    .finally(() => {
      clearTimeout(timeout);
      clearTimeout(stageTimer);
    })
    .catch(() => {});
  worker.postMessage({ type: "init", vision: new URL(vision, location.href).href, model: new URL(model, location.href).href, delegate });
  let used;
  try {
    used = await ready;
  } catch (err) {
    worker.terminate();
    throw err;
  }
  let slowest = null; // the slowest frame answered so far, ms (null: none yet)
  let answered = 0;
  return {
    where: "worker",
    delegate: used,
    fallback: null,
    async detect(video, ts) {
      const bitmap = await createImageBitmap(video);
      const sent = performance.now();
      const limit = frameTimeout(slowest);
      let timer;
      const answer = new Promise((resolve, reject) => {
        waiting.set(ts, (value) => {
          clearTimeout(timer);
          const took = performance.now() - sent;
          slowest = Math.max(slowest ?? 0, took);
          answered += 1;
          if (answered <= 3) {
            console.info(`capture worker: frame ${answered} answered in ${Math.round(took)} ms (inference ${Math.round(value.inferenceMs ?? NaN)} ms)`);
          }
          resolve(value);
        });
        // a worker that never answers (its thread stuck) must not stop tracking for good: the
        // console moves to the page's thread on this error (operator_media.js)
        timer = setTimeout(() => {
          waiting.delete(ts);
          reject(new WorkerStuck(`the capture worker did not answer a frame in ${limit / 1000} s`));
        }, limit);
      });
      worker.postMessage({ type: "frame", bitmap, ts }, [bitmap]); // transferred, not copied
      return answer;
    },
    close() {
      worker.postMessage({ type: "close" });
      setTimeout(() => worker.terminate(), 1000); // one that does not close itself, in a second
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
