// A recorded consultation played back: the operator's avatar re-animated from the motion packets
// the customers were sent, on the clock of the recorded voices, with the chat. For the brand's
// administrators (the admin page's sign-in, or the brand's API key). The operator's voice is the
// player (its native controls: keyboard and screen reader); the customer's voice follows it.
//
// Publishes window.avatarCare {ready, mediaMs, lastBones, skipped}; with `?sync-marks` also
// syncMarks {heard, seen} (performance.now() times): when a sharp sound starts in the voice heard
// and when the avatar's right arm is raised on screen, as room/av_sync.js does in the live room.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";

import { applyTranslations, mountLanguageSwitch, onLanguageChange, registerStrings, t } from "../common/i18n.js";
import { loadAvatar } from "../room/avatar.js";
import { soundStarts } from "../room/av_sync.js";
import { buildRoomScene } from "../room/scene.js";
import { parseMotionFile, poseAt } from "./motion_track.js";

registerStrings("playback", {
  it: {
    title: "Registrazione di una consulenza", recording: "Registrazione", key: "Chiave di amministrazione del marchio",
    open: "Apri", stage: "L'avatar dell'operatore, come lo vedeva il cliente", controls: "Riproduci la registrazione",
    chat: "Chat", heading: "Registrazione del {when}, {duration} s", loading: "Caricamento…",
    ready: "Pronta: {packets} pose dell'avatar, voci dell'operatore e del cliente.",
    operator: "Operatore", customer: "Cliente",
  },
  en: {
    title: "Recording of a consultation", recording: "Recording", key: "Brand admin key",
    open: "Open", stage: "The operator's avatar, as the customer saw it", controls: "Play the recording",
    chat: "Chat", heading: "Recording of {when}, {duration} s", loading: "Loading…",
    ready: "Ready: {packets} avatar poses, the operator's and the customer's voices.",
    operator: "Operator", customer: "Customer",
  },
});

const ADMIN_TOKEN = "avatar-care.admin-token"; // the admin page's sign-in (admin/admin.js)
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { ready: false, mediaMs: 0, lastBones: null, skipped: 0 };
window.avatarCare = state;
let details = null;

mountLanguageSwitch($("lang"));
onLanguageChange(() => details && describe(details));
$("recording-id").value = params.get("recording") ?? "";

function headers() {
  const key = $("admin-key").value.trim();
  if (key) return { "X-API-Key": key };
  const token = sessionStorage.getItem(ADMIN_TOKEN);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function fetchOk(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(typeof body.detail === "string" ? body.detail : `${response.status}`);
  }
  return response;
}

function describe(d) {
  $("player-title").textContent = t("playback.heading", { when: new Date(d.started_at).toLocaleString(), duration: Math.round(d.duration_s) });
  $("chat").replaceChildren(...d.chat.map((m) => {
    const li = document.createElement("li");
    const at = new Date(m.t_ms).toISOString().slice(14, 19); // mm:ss into the recording
    li.textContent = `${at} ${m.sender === "operator" ? t("playback.operator") : t("playback.customer")}: ${m.text}`;
    return li;
  }));
}

$("open-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").textContent = "";
  try {
    await open($("recording-id").value.trim());
  } catch (error) {
    $("error").textContent = t("common.error", { message: error.message });
  }
});

async function open(id) {
  $("player").hidden = false;
  $("player-status").textContent = t("playback.loading");
  const base = `/api/recordings/${encodeURIComponent(id)}`;
  details = await (await fetchOk(base)).json();
  describe(details);
  const [operatorOgg, customerOgg, motion] = await Promise.all(
    ["operator.ogg", "customer.ogg", "motion.bin"].map((name) => fetchOk(`${base}/files/${name}`)),
  );
  const operator = $("operator-voice");
  const customer = $("customer-voice");
  operator.src = URL.createObjectURL(await operatorOgg.blob());
  customer.src = URL.createObjectURL(await customerOgg.blob());
  const { records, skipped } = parseMotionFile(await motion.arrayBuffer());
  state.skipped = skipped;
  await play(records, operator, customer, details.avatar_url ?? "/assets/avatars/Asian_F_1_Casual.vrm");
  $("player-status").textContent = t("playback.ready", { packets: records.length });
  state.ready = true;
}

async function play(records, operator, customer, avatarUrl) {
  const stage = $("stage");
  const renderer = new THREE.WebGLRenderer({ antialias: true });
  const size = () => [stage.clientWidth || 640, stage.clientHeight || 480];
  renderer.setSize(...size());
  stage.replaceChildren(renderer.domElement);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color("#e9e4dc");
  scene.add(buildRoomScene({}));
  const camera = new THREE.PerspectiveCamera(35, size()[0] / size()[1], 0.1, 50);
  camera.position.set(0, 1.45, 2.4);
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.target.set(0, 1.3, 0);
  controls.update();
  const avatar = await loadAvatar(avatarUrl);
  scene.add(avatar.object3d);

  // Both voices through one audio context: the avatar follows what is heard, the element's time
  // less the context's own latency to the loudspeaker.
  const ctx = new AudioContext();
  const voice = ctx.createMediaElementSource(operator);
  voice.connect(ctx.destination);
  ctx.createMediaElementSource(customer).connect(ctx.destination);
  const latencyS = () => (ctx.baseLatency || 0) + (ctx.outputLatency || 0);
  const follow = () => {
    if (Math.abs(customer.currentTime - operator.currentTime) > 0.05) customer.currentTime = operator.currentTime;
  };
  operator.addEventListener("play", () => {
    ctx.resume();
    follow();
    customer.play().catch(() => {});
  });
  operator.addEventListener("pause", () => customer.pause());
  operator.addEventListener("seeked", follow);
  operator.addEventListener("ratechange", () => (customer.playbackRate = operator.playbackRate));

  // where the recording is at performance time `now`, in ms (between two looks at the element)
  let anchor = { perf: performance.now(), media: 0 };
  const mediaMsAt = (now) => {
    if (operator.paused || operator.ended) return anchor.media;
    return anchor.media + (now - anchor.perf) * operator.playbackRate;
  };
  let lastFrame = performance.now();
  renderer.setAnimationLoop(() => {
    const now = performance.now();
    const media = 1000 * Math.max(0, operator.currentTime - latencyS());
    // at its end the element may report a time a little before the one it reached, which would
    // replay the last moves: the avatar stays as it was when the voice ended
    anchor = { perf: now, media: operator.ended ? Math.max(media, anchor.media) : media };
    state.mediaMs = anchor.media;
    const pose = poseAt(records, anchor.media);
    if (pose) {
      avatar.applyPose(pose);
      state.lastBones = pose.bones;
    }
    avatar.update((now - lastFrame) / 1000);
    lastFrame = now;
    renderer.render(scene, camera);
  });
  if (params.has("sync-marks")) watchMarks(ctx, voice, records, mediaMsAt, () => anchor.perf);
}

const MARK_LEVEL = 0.05;
const MARK_QUIET_MS = 300;
const MARK_ARM_Z = -0.4;
const MARK_GAP_MS = 500;
const MARK_STEP_MS = 2;

// As room/av_sync.js's marks: the voice's sound starts as heard (the context's output timestamp),
// and the poses shown between two looks (every 2 ms of the recording's clock as the page runs it).
function watchMarks(ctx, source, records, mediaMsAt) {
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 32768;
  source.connect(analyser);
  const x = new Float32Array(analyser.fftSize);
  const marks = { heard: [], seen: [] };
  state.syncMarks = marks;
  let lastHeard = -Infinity;
  let lastSeen = -Infinity;
  let lookedAt = null;
  let raised = true;
  setInterval(() => {
    const now = performance.now();
    analyser.getFloatTimeDomainData(x);
    const stamp = ctx.getOutputTimestamp?.() ?? {};
    const heardAt = (contextTime) =>
      stamp.performanceTime > 0
        ? stamp.performanceTime + 1000 * (contextTime - stamp.contextTime)
        : now - 1000 * (ctx.currentTime - contextTime);
    for (const i of soundStarts(x, MARK_LEVEL, Math.round((MARK_QUIET_MS / 1000) * ctx.sampleRate))) {
      const at = heardAt(ctx.currentTime - (x.length - i) / ctx.sampleRate);
      if (at > lastHeard + MARK_GAP_MS) marks.heard.push((lastHeard = at));
    }
    for (let at = lookedAt ?? now; at <= now; at += MARK_STEP_MS) {
      const z = poseAt(records, mediaMsAt(at))?.bones.rightUpperArm?.[2];
      if (z === undefined) continue;
      if (z < MARK_ARM_Z && !raised && at > lastSeen + MARK_GAP_MS) marks.seen.push((lastSeen = at));
      raised = z < MARK_ARM_Z;
    }
    lookedAt = now + MARK_STEP_MS;
  }, 50);
}

applyTranslations();
if (params.get("recording") && headers().Authorization) $("open-form").requestSubmit();
