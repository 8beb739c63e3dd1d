// The operator's media: camera preview with the landmarks drawn over it, edge capture (MediaPipe
// in this browser: the face never leaves the machine) or server capture (the camera goes to the
// server as video), the microphone with mute, and a mirror of the avatar the customers see.
// Publishes its live state on window.avatarCare for tests and diagnostics.
import * as THREE from "three";

import { addressSetting } from "../common/address.js";
import { encodeLandmarkPacket } from "../src/landmark_packet.js";
import { decodeMotionPacket } from "../src/motion_codec.js";
import { loadAvatar, showBufferedPose } from "../room/avatar.js";
import { JitterBuffer } from "../room/jitter_buffer.js";
import { NETWORK_STRINGS, openPeerLink } from "../room/signaling.js";
import { handoverTracker, READY_TIMEOUT_MS, startTracker, WorkerStuck } from "./edge_tracker.js";
import { parseHops } from "./hop_figures.js";
import { isSoftwareRenderer, mirrorDue, SOFTWARE_MIRROR_FPS, webglRendererName } from "./software_gl.js";

const VISION = "/vendor/@mediapipe/tasks-vision";
const MODEL = "/assets/models/holistic_landmarker.task";
const WIDTH = 640;
const HEIGHT = 480;
const SERVER_INFERENCE_SIZE = 512; // avatar_care.live.server_capture.INFERENCE_SIZE

const STRINGS = {
  it: {
    connecting: "Connessione alla stanza…", connected: "Sei in onda: i clienti ti vedono come avatar",
    failed: "Connessione non riuscita", loading: "Caricamento del riconoscimento…",
    mute: "Disattiva microfono", unmute: "Attiva microfono", mode: "Cattura del movimento",
    edge: "In questo browser (il volto resta qui)", server: "Sul server (invia la videocamera)",
    camera: "La tua videocamera, con i punti rilevati", mirror: "Il tuo avatar, come lo vedono i clienti",
    latency: "Latenza", noCamera: "Videocamera non disponibile",
    captureStarting: "Cattura sul server: avvio del riconoscimento…",
    captureReady: "Cattura sul server attiva",
    captureRestarting: "La cattura sul server si è interrotta: riavvio in corso…",
    captureFailed: "La cattura sul server non funziona: scegli la cattura in questo browser",
    hopCapture: "videocamera → punti", hopServer: "server", hopReceive: "→ cliente",
    hopRender: "→ disegnato", hopTotal: "videocamera → cliente", latencyNone: "Latenza: in attesa dei dati",
    median: "mediana (p95)",
    ...NETWORK_STRINGS.it,
    cameraNone: "Nessuna videocamera: il tuo avatar parla con la tua voce",
    cameraRefused: "Videocamera non consentita: il tuo avatar parla con la tua voce",
    cameraLost: "Videocamera persa: il tuo avatar continua con la tua voce",
    tracked: "Riconoscimento: {fps} fotogrammi al secondo", worker: "in un worker", page: "nella pagina",
    slow: "Il riconoscimento è lento ({fps} fotogrammi al secondo, ne servono almeno 20): chiudi altri programmi o scegli la cattura sul server",
  },
  en: {
    connecting: "Connecting to the room…", connected: "You are live: customers see you as the avatar",
    failed: "The connection failed", loading: "Loading tracking…",
    mute: "Mute microphone", unmute: "Unmute microphone", mode: "Motion capture",
    edge: "In this browser (your face stays here)", server: "On the server (sends your camera)",
    camera: "Your camera, with the tracked points", mirror: "Your avatar, as customers see it",
    latency: "Latency", noCamera: "No camera available",
    captureStarting: "Server capture: starting the tracker…",
    captureReady: "Server capture is tracking",
    captureRestarting: "Server capture stopped: restarting it…",
    captureFailed: "Server capture is not working: choose capture in this browser",
    hopCapture: "camera → landmarks", hopServer: "server", hopReceive: "→ customer",
    hopRender: "→ drawn", hopTotal: "camera → customer", latencyNone: "Latency: waiting for figures",
    median: "median (p95)",
    ...NETWORK_STRINGS.en,
    cameraNone: "No camera: your avatar speaks with your voice",
    cameraRefused: "Camera not allowed: your avatar speaks with your voice",
    cameraLost: "Camera lost: your avatar goes on with your voice",
    tracked: "Tracking: {fps} frames a second", worker: "in a worker", page: "on the page",
    slow: "Tracking is slow ({fps} frames a second, at least 20 are needed): close other programs or choose server capture",
  },
};
const CAPTURE_TEXT = { starting: "captureStarting", ready: "captureReady", restarting: "captureRestarting", failed: "captureFailed" };
const CAMERA_TEXT = { none: "cameraNone", refused: "cameraRefused", lost: "cameraLost" };
const METRICS_EVERY_MS = 2000;
const CAMERA_CHECK_MS = 500;
/** The product promises at least this many tracked frames a second; below it the operator is told. */
const MIN_TRACKED_PER_S = 20;
const SLOW_AFTER_MS = 3000; // a tracker's first seconds (loading, warming up) are not judged
/** With WebGL in software the preview holds the tracked frames; none for this long, it shows the live video again. */
const PREVIEW_HOLD_MS = 3000;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function toRows(landmarks, withVisibility) {
  return landmarks.map((p) => (withVisibility ? [p.x, p.y, p.z, p.visibility ?? 1] : [p.x, p.y, p.z]));
}

/**
 * Mount the operator's media into `container` (the operator page's <section id="operator-media">).
 * @param {HTMLElement} container
 * @param {{roomId: string, operatorKey?: string, token?: string, mode?: "edge"|"server",
 *          lang?: string, avatarUrl?: string}} options  `token`: the operator's bearer token
 *          (a consultation's room); `operatorKey`: the demo room's key
 */
export async function mountOperatorMedia(container, options) {
  const { roomId, operatorKey = null, token = null, avatarUrl = "/assets/avatars/Asian_F_1_Casual.vrm" } = options;
  let lang = options.lang ?? (navigator.language?.toLowerCase().startsWith("it") ? "it" : "en");
  let mode = options.mode ?? "edge";
  const state = {
    role: "operator", connected: false, connection: "connecting", mode, muted: false,
    framesSent: 0, landmarksPerSecond: 0, inferenceMs: null, tracking: false,
    packetsReceived: 0, lastBones: {}, lastExpressions: {}, jitterBufferMs: null, latency: null, error: null,
    peerConnection: "new", capture: null, hops: {}, mirrorError: null,
    camera: "starting", // "on", or the operator goes on with the voice alone: "none", "refused", "lost"
    trackedPerSecond: null, captureThread: null, delegate: null, trackingSlow: false,
    captureFallback: null, // why tracking is on the page's thread although a worker was asked for
    webglSoftware: false, mirrorFps: null, mirrorFrames: 0, // the mirror's rate: null at every animation frame
    previewHeld: false, // the preview shows the tracked frames, the live video hidden (WebGL in software)
  };
  window.avatarCare = state;

  // the 2D parts
  const status = el("p", { class: "media-status", role: "status", "aria-live": "polite" });
  const video = el("video", { autoplay: "", muted: "", playsinline: "", width: WIDTH, height: HEIGHT });
  video.muted = true;
  const overlay = el("canvas", { width: WIDTH, height: HEIGHT, class: "media-overlay" });
  const preview = el("figure", { class: "media-preview" }, video, overlay, el("figcaption"));
  const mirrorBox = el("figure", { class: "media-mirror" }, el("figcaption"));
  const mute = el("button", { type: "button", class: "media-mute", "aria-pressed": "false" });
  const modeSelect = el("select", { class: "media-mode" });
  const modeLabel = el("label", {}, el("span"), modeSelect);
  const captureStatus = el("p", { class: "media-capture", role: "status", "aria-live": "polite" });
  const cameraStatus = el("p", { class: "media-camera", role: "status", "aria-live": "polite" });
  // the rate changes every second: readable on demand; the warning is said when it comes and goes
  const trackedRate = el("p", { class: "media-tracked" });
  const slowWarning = el("p", { class: "media-slow", role: "status", "aria-live": "polite" });
  // updated every two seconds: readable on demand, not announced each time
  const latency = el("p", { class: "media-latency" });
  const ctx = overlay.getContext("2d");
  for (const m of ["edge", "server"]) modeSelect.append(el("option", { value: m }));
  container.append(status, cameraStatus, captureStatus, slowWarning, el("div", { class: "media-controls" }, mute, modeLabel), preview, trackedRate, mirrorBox, latency);
  function render() {
    const s = STRINGS[lang] ?? STRINGS.en;
    status.textContent = s[state.connection];
    status.dataset.state = state.connection;
    mute.textContent = state.muted ? s.unmute : s.mute;
    mute.setAttribute("aria-pressed", String(state.muted));
    modeLabel.firstChild.textContent = `${s.mode} `;
    modeSelect.options[0].textContent = s.edge;
    modeSelect.options[1].textContent = s.server;
    modeSelect.value = mode;
    preview.querySelector("figcaption").textContent = s.camera;
    mirrorBox.querySelector("figcaption").textContent = s.mirror;
    const cameraText = CAMERA_TEXT[state.camera];
    const cameraSays = cameraText ? s[cameraText] : "";
    if (cameraStatus.textContent !== cameraSays) cameraStatus.textContent = cameraSays; // said once
    cameraStatus.dataset.state = state.camera;
    cameraStatus.hidden = !cameraText;
    preview.hidden = state.camera !== "on" && state.camera !== "starting";
    const tracking = mode === "edge" && state.camera === "on" && state.trackedPerSecond !== null;
    const fps = String(state.trackedPerSecond ?? 0);
    const where = state.captureThread ? ` (${s[state.captureThread]}, ${state.delegate})` : "";
    trackedRate.textContent = tracking ? s.tracked.replace("{fps}", fps) + where : "";
    trackedRate.hidden = !tracking;
    const slow = tracking && state.trackingSlow;
    const slowText = slow ? s.slow.replace("{fps}", fps) : "";
    // said once when tracking falls behind, not again at every second's new figure
    if (!slow || !slowWarning.textContent || slowWarning.lang !== lang) {
      slowWarning.textContent = slowText;
      slowWarning.lang = lang;
    }
    slowWarning.hidden = !slow;
    const capture = mode === "server" && state.camera === "on" ? (state.capture?.state ?? "starting") : null;
    captureStatus.textContent = capture ? s[CAPTURE_TEXT[capture]] : "";
    captureStatus.dataset.state = capture ?? "";
    captureStatus.hidden = !capture;
    latency.textContent = latencyText(s);
  }
  function latencyText(s) {
    const h = state.hops;
    const fmt = (q) => (q === undefined ? "?" : q < 10 ? q.toFixed(1) : String(Math.round(q)));
    const hop = (name, label) => (h[name] ? `${label} ${fmt(h[name].p50)} (${fmt(h[name].p95)})` : null);
    const parts = [hop("capture", s.hopCapture), hop("send", s.hopServer), hop("receive", s.hopReceive), hop("render", s.hopRender)].filter(Boolean);
    if (!parts.length) {
      const l = state.latency; // only this page's mirror packets so far: the server's own hop
      return l ? `${s.latency}: ${s.hopServer} ${fmt(l.sendMs)} ms` : s.latencyNone;
    }
    // capture ends where the server's hops start, and render runs from there to the customer's screen
    if (h.capture && h.render) {
      parts.push(`${s.hopTotal} ≈ ${fmt(h.capture.p50 + h.render.p50)} (≤ ${fmt(h.capture.p95 + h.render.p95)})`);
    }
    return `${s.latency}, ms, ${s.median}: ${parts.join(" · ")}`;
  }
  function setConnection(c) {
    state.connection = c;
    state.connected = c === "connected";
    render();
  }
  render();

  // camera and microphone; without a camera (none, refused) the microphone alone goes live: the
  // server gives the avatar a mouth from the voice and keeps it alive (docs/live-room.md)
  const voice = { echoCancellation: true, noiseSuppression: true };
  let media;
  try {
    media = await navigator.mediaDevices.getUserMedia({ video: { width: WIDTH, height: HEIGHT, frameRate: 30 }, audio: voice });
    state.camera = "on";
  } catch (err) {
    try {
      media = await navigator.mediaDevices.getUserMedia({ audio: voice });
      state.camera = err.name === "NotAllowedError" || err.name === "SecurityError" ? "refused" : "none";
      console.info("going live with the microphone alone:", err.name);
    } catch {
      state.error = `${STRINGS[lang].noCamera}: ${err.name}`;
      setConnection("failed");
      throw err;
    }
  }
  const cameraTrack = media.getVideoTracks()[0] ?? null;
  const cameraLive = () => cameraTrack !== null && cameraTrack.readyState === "live";
  if (cameraTrack) {
    video.srcObject = media;
    await video.play().catch(() => {});
  }
  render();
  // A camera unplugged, taken by another program or stopped: the voice goes on alone. A track
  // stopped by a page does not fire "ended", so its state is also looked at twice a second.
  function cameraGone() {
    if (state.camera !== "on" || cameraLive()) return;
    state.camera = "lost";
    state.tracking = false;
    ctx.clearRect(0, 0, WIDTH, HEIGHT);
    render();
  }
  cameraTrack?.addEventListener("ended", cameraGone);
  const cameraTimer = setInterval(cameraGone, CAMERA_CHECK_MS);
  const micTrack = media.getAudioTracks()[0];
  mute.addEventListener("click", () => {
    state.muted = !state.muted;
    if (micTrack) micTrack.enabled = !state.muted;
    render();
  });

  // the mirror: the same packets the customers get, on the same kind of channel. With WebGL in
  // software it draws a few frames a second, without antialiasing: drawn at every animation frame
  // it took the processor edge capture needs (software_gl.js)
  const software = isSoftwareRenderer(webglRendererName());
  state.webglSoftware = software;
  state.mirrorFps = software ? SOFTWARE_MIRROR_FPS : null;
  const renderer = new THREE.WebGLRenderer({ antialias: !software });
  renderer.setSize(320, 360);
  mirrorBox.prepend(renderer.domElement);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color("#e9e4dc");
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8d8d8d, 2.5));
  const camera = new THREE.PerspectiveCamera(30, 320 / 360, 0.1, 20);
  camera.position.set(0, 1.35, 2.2);
  camera.lookAt(0, 1.2, 0);
  const buffer = new JitterBuffer();
  // The mirror's model loads while the room connects (below): the operator's voice and landmarks
  // must not wait for a model of several megabytes that only this page shows. Packets wait in the
  // jitter buffer meanwhile; a model that cannot load leaves the room working, without a mirror.
  let mirrorClosed = false;
  loadAvatar(avatarUrl).then(
    (avatar) => {
      if (mirrorClosed) return;
      scene.add(avatar.object3d);
      let last = performance.now();
      let drawn = null;
      renderer.setAnimationLoop(() => {
        const now = performance.now();
        if (!mirrorDue(now, drawn, software)) return;
        drawn = now;
        state.mirrorFrames += 1;
        showBufferedPose(avatar, buffer, state, now);
        avatar.update((now - last) / 1000);
        last = now;
        renderer.render(scene, camera);
      });
    },
    (err) => {
      state.mirrorError = String(err);
      console.warn("the mirror's avatar did not load:", err);
    },
  );

  // the connection: a new peer connection each time the link makes one (the network took the old
  // one away, or the capture mode changed), set up the same way (room/signaling.js)
  let pc = null;
  let landmarks = null;
  const sentTimes = [];
  function setupPeer(newPc) {
    pc = newPc;
    const thisPc = pc;
    if (micTrack) pc.addTrack(micTrack, media);
    else pc.addTransceiver("audio", { direction: "recvonly" });
    state.capture = null;
    if (mode === "server" && cameraLive()) {
      const camera = cameraTrack;
      // The server letterboxes every frame into SERVER_INFERENCE_SIZE pixels: sending more costs
      // this browser's encoder and the server's decoder time (latency) and the tracker nothing.
      const scale = Math.max(1, Math.max(camera.getSettings().width ?? WIDTH, camera.getSettings().height ?? HEIGHT) / SERVER_INFERENCE_SIZE);
      // the server tracks people, not detail: keep the frame rate when bandwidth or CPU is short
      camera.contentHint = "motion";
      pc.addTransceiver(camera, {
        direction: "sendonly",
        streams: [media],
        sendEncodings: [{ scaleResolutionDownBy: scale, maxFramerate: 30 }],
      });
    }
    landmarks = pc.createDataChannel("landmarks", { ordered: false, maxRetransmits: 0 });
    const mirror = pc.createDataChannel("motion", { ordered: false, maxRetransmits: 0 });
    mirror.binaryType = "arraybuffer";
    mirror.onmessage = (e) => {
      try {
        const packet = decodeMotionPacket(e.data);
        buffer.push(packet, performance.now());
        state.packetsReceived += 1;
        state.latency = packet.timing;
      } catch (err) {
        state.error = String(err);
      }
    };
    landmarks.onopen = () => setConnection("connected");
    landmarks.onmessage = (e) => {
      // the server's word on server capture: {"type": "capture", "state", "message"}
      try {
        const msg = JSON.parse(e.data);
        if (msg.type === "capture" && thisPc === pc) {
          // the server repeats its word every second (the channel is unreliable): act on changes
          if (msg.state === state.capture?.state && msg.message === state.capture?.message) return;
          state.capture = { state: msg.state, message: msg.message };
          if (msg.state !== "ready") console.warn("server capture:", msg.message);
          render();
        }
      } catch (err) {
        state.error = String(err);
      }
    };
    pc.addEventListener("connectionstatechange", () => (state.peerConnection = thisPc.connectionState));
    pc.ontrack = (e) => {
      // the customer's voice
      const audio = new Audio();
      audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
      audio.play().catch(() => {});
    };
  }
  const who = token ? { token } : { operator_key: operatorKey };
  const link = openPeerLink(roomId, { role: "operator", ...who }, {
    setup: setupPeer,
    onState(s, message) {
      if (s === "connected") return; // said when the landmarks channel opens
      if (s === "ended") setConnection("failed");
      else if (s === "refused") {
        state.error = message;
        setConnection("failed");
      } else setConnection(s); // connecting, reconnecting, blocked
    },
  });
  modeSelect.addEventListener("change", () => {
    mode = modeSelect.value;
    state.mode = mode;
    setConnection("connecting");
    link.reconnect(); // a new connection: with or without the camera's video
  });

  // edge capture: MediaPipe's holistic landmarker on the latest camera frame, one at a time, in a
  // worker (edge_tracker.js) or on the page's thread. The default, `capture=auto`: the page's
  // thread tracks at once and the worker takes over when it has answered a frame; tracking stays on
  // the page where a worker cannot start, and moves back when the worker stops answering. (It was
  // the page's thread while the software-drawn mirror starved both: docs/live-room.md.)
  // `capture=page`: the page's thread alone; `capture=worker`: the worker alone (the comparison, the tests)
  const asked = addressSetting("capture") ?? "auto";
  let where = asked === "page" ? "page" : asked === "worker" ? "worker" : "handover";
  const delegate = addressSetting("delegate") ?? "auto";
  // loaded only when edge capture is chosen: in server mode this machine does no tracking at all
  let tracker = null;
  let loading = null;
  let busy = false;
  function loadTracker() {
    if (loading) return;
    const started =
      where === "handover"
        ? handoverTracker({ vision: VISION, model: MODEL, delegate, onChange: (t) => t === tracker && shown(t) })
        : startTracker({ vision: VISION, model: MODEL, inWorker: where === "worker", delegate, headStartMs: READY_TIMEOUT_MS });
    loading = started.then(
      (t) => {
        if (!running) return t.close();
        tracker = t;
        trackingSince = performance.now();
        // the worker's reason stays when the page took over from a worker that stopped answering
        shown(t, where === "page" && asked !== "page" ? state.captureFallback : null);
        if (t.fallback) console.warn("edge capture on the page's thread:", t.fallback);
      },
      (err) => {
        state.error = String(err);
        console.warn("edge capture could not start:", err);
      },
    );
  }
  /** Where tracking runs, with which delegate, and why not in the worker when it is not. */
  function shown(t, fallback = null) {
    state.captureThread = t.where;
    state.delegate = t.delegate;
    state.captureFallback = t.fallback ?? fallback;
    render();
  }
  /** The worker stopped answering: tracking starts again on the page's thread. */
  function leaveWorker(err) {
    console.warn("edge capture moves to the page's thread:", err);
    tracker?.close();
    tracker = null;
    loading = null;
    where = "page";
    state.captureThread = null;
    state.captureFallback = String(err?.message ?? err);
    loadTracker();
  }
  let running = true;
  let lastTs = -1;
  let trackingSince = null;
  const trackedTimes = [];
  let lastTracked = -Infinity;
  function draw(points, color) {
    ctx.fillStyle = color;
    for (const p of points) ctx.fillRect(p.x * WIDTH - 2, p.y * HEIGHT - 2, 4, 4);
  }
  // With WebGL in software, compositing the live camera at 30 frames a second took most of a core
  // from tracking: while edge capture tracks, the preview shows each tracked frame with its points
  // (at the tracked rate) and the live video is hidden. Anything else shows the live video again.
  function holdPreview(held) {
    if (state.previewHeld === held) return;
    state.previewHeld = held;
    video.classList.toggle("media-held", held);
    if (!held) ctx.clearRect(0, 0, WIDTH, HEIGHT);
  }
  function track(now, meta) {
    if (!running) return;
    if (!cameraLive()) {
      holdPreview(false);
      return; // no camera, or it is gone: nothing to track, the voice goes on
    }
    if (mode === "edge" && !tracker) loadTracker();
    if (mode === "edge" && tracker && !busy && video.readyState >= 2) {
      // latest frame wins: frames that come while one is being tracked are let go
      busy = true;
      const captured = meta?.captureTime ?? now;
      const ts = Math.max(Math.round(now), lastTs + 1);
      lastTs = ts;
      tracker.detect(video, ts).then(
        ({ result, inferenceMs }) => {
          busy = false;
          if (result && running && mode === "edge" && cameraLive()) tracked(result, ts, captured, inferenceMs);
        },
        (err) => {
          busy = false;
          if (err instanceof WorkerStuck) leaveWorker(err);
          else state.error = String(err);
        },
      );
    } else if (mode !== "edge") {
      holdPreview(false);
      ctx.clearRect(0, 0, WIDTH, HEIGHT);
    }
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(track);
    else requestAnimationFrame((t) => track(t, null));
  }
  function tracked(r, ts, captured, inferenceMs) {
    const done = performance.now();
    state.inferenceMs = inferenceMs;
    trackedTimes.push(done);
    lastTracked = done;
    if (software) {
      ctx.drawImage(video, 0, 0, WIDTH, HEIGHT);
      holdPreview(true);
    } else ctx.clearRect(0, 0, WIDTH, HEIGHT);
    const seen = r.poseWorldLandmarks?.length > 0;
    state.tracking = seen;
    if (seen) {
      draw(r.poseLandmarks[0], "#1d7a3a");
      draw(r.leftHandLandmarks?.[0] ?? [], "#2f6f8f");
      draw(r.rightHandLandmarks?.[0] ?? [], "#b3261e");
    }
    const shapes = r.faceBlendshapes?.[0]?.categories;
    const frame = {
      t_ms: ts,
      pose_world: seen ? toRows(r.poseWorldLandmarks[0], true).map((row, i) => [...row.slice(0, 3), r.poseLandmarks[0][i].visibility ?? 1]) : null,
      pose_image: seen ? toRows(r.poseLandmarks[0], true) : null,
      left_hand_world: r.leftHandWorldLandmarks?.[0]?.length ? toRows(r.leftHandWorldLandmarks[0], false) : null,
      right_hand_world: r.rightHandWorldLandmarks?.[0]?.length ? toRows(r.rightHandWorldLandmarks[0], false) : null,
      face_blendshapes: shapes ? Object.fromEntries(shapes.filter((c) => c.categoryName !== "_neutral").map((c) => [c.categoryName, c.score])) : null,
      capture_age_ms: Math.max(0, performance.now() - captured),
    };
    if (landmarks?.readyState === "open") {
      // binary, one SCTP chunk, where the JSON would be five (web_client/src/landmark_packet.js)
      landmarks.send(encodeLandmarkPacket(frame, frame.capture_age_ms));
      state.framesSent += 1;
      sentTimes.push(done);
      while (sentTimes.length && sentTimes[0] < done - 1000) sentTimes.shift();
      state.landmarksPerSecond = sentTimes.length;
    }
  }
  // tracked frames a second, and the warning when they fall below what the product promises
  const rateTimer = setInterval(() => {
    const now = performance.now();
    while (trackedTimes.length && trackedTimes[0] < now - 1000) trackedTimes.shift();
    const tracking = tracker !== null && mode === "edge" && cameraLive();
    state.trackedPerSecond = tracking ? trackedTimes.length : null;
    state.trackingSlow = tracking && now - trackingSince > SLOW_AFTER_MS && trackedTimes.length < MIN_TRACKED_PER_S;
    // no frame tracked for a while (the tracker moving from a stuck worker to the page, say): the
    // live video again rather than a still frame
    if (state.previewHeld && now - lastTracked > PREVIEW_HOLD_MS) holdPreview(false);
    render();
  }, 1000);
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(track);
  else requestAnimationFrame((t) => track(t, null));

  // the hop figures this room's customers report, from the server's /metrics/rooms/{room}
  async function fetchHops() {
    try {
      const response = await fetch(`/metrics/rooms/${encodeURIComponent(roomId)}`, {
        cache: "no-store",
        headers: { Authorization: `Bearer ${token || operatorKey}` },
      });
      if (response.ok) state.hops = parseHops(await response.text(), roomId);
    } catch {
      // the figures wait for the next round; the room does not depend on them
    }
    render();
  }
  fetchHops();
  const latencyTimer = setInterval(fetchHops, METRICS_EVERY_MS);
  return {
    setLanguage(l) {
      lang = l;
      render();
    },
    close() {
      running = false;
      mirrorClosed = true;
      clearInterval(latencyTimer);
      clearInterval(cameraTimer);
      clearInterval(rateTimer);
      renderer.setAnimationLoop(null);
      tracker?.close();
      link.close();
      media.getTracks().forEach((t) => t.stop());
      renderer.dispose();
      container.replaceChildren();
    },
  };
}
