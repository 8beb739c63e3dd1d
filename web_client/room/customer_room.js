// The customer's side of a live room: the operator's avatar driven by motion packets, the
// operator's voice from the avatar's head, the customer's microphone (after permission), the
// connection state in words, the customer's own mute, "Enter VR" for a headset's browser, and the
// room as the brand configured it (scene, colour, logo); in VR the chat and the product shown are
// panels in the room (xr_panels.js).
// Publishes its live state on window.avatarCare for tests and diagnostics.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";

import { addressHas } from "../common/address.js";
import { decodeMotionPacket, seqNewer } from "../src/motion_codec.js";
import { syncVoiceAndMotion } from "./av_sync.js";
import { loadAvatar, showBufferedPose } from "./avatar.js";
import { JitterBuffer } from "./jitter_buffer.js";
import { NETWORK_STRINGS, openPeerLink } from "./signaling.js";
import { buildRoomScene } from "./scene.js";
import { addEnterVR } from "./xr.js";
import { addXrPanels } from "./xr_panels.js";

const STRINGS = {
  it: {
    connecting: "Connessione alla stanza…",
    connected: "Connesso: l'operatore è con te",
    failed: "Connessione non riuscita",
    closed: "Consulenza terminata",
    stage: "La stanza della consulenza, con l'avatar dell'operatore",
    micOn: "Il tuo microfono è attivo",
    micOff: "Microfono non disponibile: l'operatore non ti sente, ma tu lo senti",
    micMuted: "Il tuo microfono è disattivato: l'operatore non ti sente",
    mute: "Disattiva il mio microfono",
    ...NETWORK_STRINGS.it,
  },
  en: {
    connecting: "Connecting to the room…",
    connected: "Connected: your operator is with you",
    failed: "The connection failed",
    closed: "The consultation has ended",
    stage: "The consultation room, with the operator's avatar",
    micOn: "Your microphone is on",
    micOff: "No microphone: the operator cannot hear you, but you can hear them",
    micMuted: "Your microphone is muted: the operator cannot hear you",
    mute: "Mute my microphone",
    ...NETWORK_STRINGS.en,
  },
};

const HEAD_HEIGHT = 1.5; // where the voice comes from, about the avatar's mouth
// Report the receive and render of a tracked packet (one with hop times) at most every 300 ms:
// three samples a second per hop are plenty for the server's p50/p95, and each report is a data
// channel message the server pays for. Filled-in packets carry no hop times and are not reported.
const REPORT_EVERY_MS = 300;

/**
 * Mount the live room into `container`.
 * @param {HTMLElement} container
 * @param {{roomId: string, sessionId?: string, token?: string, avatarUrl?: string, lang?: string,
 *          trace?: boolean, syncMarks?: boolean,
 *          look?: {scene?: string, brand_color?: string, logo_url?: string|null}}} options  `look`: the
 *          room template's (the session's `room`); none: the default room  `trace` (or `?trace` in the page's address): record what is
 *          heard and shown every 10 ms in window.avatarCare.trace; `syncMarks` (`?sync-marks`):
 *          note when a sound starts and when the right arm is raised (room/av_sync.js)
 *          `?sync-off`: voice and motion measured but not aligned (benchmarks/av_sync.py)
 *          `?hold-voice`: the motion only held to the voice's measured delay, not following it
 *          pose by pose (the earlier way, kept for comparison: room/av_sync.js)
 * @returns {Promise<{close(): void, setLanguage(lang: string): void, showChat(messages: object[]): void,
 *          showProduct(shown: object|null): void}>}  showChat/showProduct feed the panels seen in VR
 */
export async function mountCustomerRoom(container, options) {
  const { roomId, token = null, avatarUrl = "/assets/avatars/Asian_F_1_Casual.vrm", look = {} } = options;
  let lang = options.lang ?? (navigator.language?.toLowerCase().startsWith("it") ? "it" : "en");
  const state = {
    connected: false,
    connection: "connecting",
    packetsReceived: 0,
    packetsPerSecond: 0,
    lastBones: {},
    lastExpressions: {},
    audioLevel: 0,
    audioBytesReceived: 0,
    microphone: false,
    microphoneMuted: false, // the customer's own choice, kept across a reconnection and a new microphone
    microphoneSending: false, // a microphone track is on the outgoing audio and enabled
    outgoingAudioLevel: null, // the sender's measured level of that track (0 while muted)
    scene: null, // what was built of the brand's room: scene, colour, logo (logoLoaded once drawn)
    brandColor: null,
    logoUrl: null,
    logoLoaded: null,
    latency: null, // the server's hop times of the newest packet, and this page's receive→render
    receiveToRenderMs: null,
    jitterBufferMs: null, // how far behind the least delayed recent packet poses are shown (the buffer's own)
    motionHoldMs: null, // held on top of that, for the voice (room/av_sync.js)
    avSyncOffsetMs: null, // the voice's wait minus the motion's, once aligned (room/av_sync.js)
    avSync: null,
    xrPresenting: false,
    peerConnections: 0, // how many the page has made: more than one after it reconnected
    error: null,
  };
  window.avatarCare = state;

  // the 2D parts: connection state (a live region) and the microphone's state
  container.classList.add("avatar-care-room");
  const status = document.createElement("p");
  status.className = "room-status";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const mic = document.createElement("p");
  mic.className = "room-mic";
  mic.setAttribute("aria-live", "polite");
  // a toggle with a constant name: a screen reader says "Mute my microphone, pressed" when muted
  const mute = document.createElement("button");
  mute.type = "button";
  mute.className = "room-mute";
  mute.setAttribute("aria-pressed", "false");
  const stage = document.createElement("div");
  stage.className = "room-stage";
  stage.setAttribute("role", "img");
  container.append(status, mic, mute, stage);
  function render() {
    const s = STRINGS[lang] ?? STRINGS.en;
    status.textContent = s[state.connection];
    status.dataset.state = state.connection;
    mic.textContent = !state.microphone ? s.micOff : state.microphoneMuted ? s.micMuted : s.micOn;
    mute.textContent = s.mute;
    mute.disabled = !state.microphone; // nothing to mute until the browser gives a microphone
    mute.setAttribute("aria-pressed", String(state.microphoneMuted));
    stage.setAttribute("aria-label", s.stage);
  }
  function setConnection(c) {
    state.connection = c;
    state.connected = c === "connected";
    render();
  }
  render();

  // the scene
  const renderer = new THREE.WebGLRenderer({ antialias: true });
  renderer.setPixelRatio(Math.min(2, devicePixelRatio));
  const size = () => [stage.clientWidth || innerWidth, stage.clientHeight || innerHeight];
  renderer.setSize(...size());
  stage.appendChild(renderer.domElement);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color("#e9e4dc");
  const world = new THREE.Group(); // moved as a whole when a headset puts the customer in the room
  scene.add(world);
  state.brandColor = look.brand_color ?? null;
  state.logoUrl = look.logo_url ?? null;
  const room = buildRoomScene({
    scene: look.scene,
    brandColor: look.brand_color ?? undefined,
    logoUrl: look.logo_url ?? null,
    onLogo(loaded) {
      state.logoLoaded = loaded;
    },
  });
  state.scene = room.userData.scene;
  world.add(room);
  const camera = new THREE.PerspectiveCamera(35, size()[0] / size()[1], 0.1, 50);
  camera.position.set(0, 1.45, 2.4); // conversational distance, across the counter
  const controls = new OrbitControls(camera, renderer.domElement); // mouse and touch
  controls.target.set(0, 1.3, 0);
  controls.enablePan = false;
  controls.minDistance = 0.8;
  controls.maxDistance = 4;
  controls.update();
  const onResize = () => {
    const [w, h] = size();
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
    renderer.setSize(w, h);
  };
  addEventListener("resize", onResize);
  // The avatar loads while the connection is made (below): the voice and the first packets need
  // not wait for a model of several megabytes; packets wait in the jitter buffer meanwhile.
  const avatarLoading = loadAvatar(avatarUrl);
  let closed = false;

  // the voice: played from the avatar's head, measured for the level
  const listener = new THREE.AudioListener();
  camera.add(listener);
  const voice = new THREE.PositionalAudio(listener);
  voice.position.set(0, HEAD_HEIGHT, 0.1);
  voice.setRefDistance(1.5);
  world.add(voice);
  const analyser = listener.context.createAnalyser();
  analyser.fftSize = 1024;
  const levels = new Float32Array(analyser.fftSize);
  const resume = () => listener.context.resume();
  addEventListener("pointerdown", resume);
  addEventListener("keydown", resume);

  // the motion
  const buffer = new JitterBuffer();
  const arrivals = [];
  const awaitingRender = new Map(); // reported seq -> local receive time, until a pose that new is drawn
  let lastReportAt = -Infinity;
  let channel = null;
  function report(obj) {
    if (channel?.readyState === "open") channel.send(JSON.stringify(obj));
  }
  function onPacket(data) {
    const now = performance.now();
    let packet;
    try {
      packet = decodeMotionPacket(data);
    } catch (err) {
      state.error = String(err);
      return;
    }
    if (packet.timing && now - lastReportAt >= REPORT_EVERY_MS) {
      lastReportAt = now;
      report({ type: "received", seq: packet.seq });
      awaitingRender.set(packet.seq, now);
      if (awaitingRender.size > 64) awaitingRender.delete(awaitingRender.keys().next().value);
    }
    buffer.push(packet, now);
    state.packetsReceived += 1;
    arrivals.push(now);
    while (arrivals.length && arrivals[0] < now - 1000) arrivals.shift();
    state.packetsPerSecond = arrivals.length;
    // packets the server's output clock filled in between tracked frames carry no hop times
    if (packet.timing) state.latency = packet.timing;
  }

  // the connection: signaling over a WebSocket; motion on an unordered, unreliable data channel;
  // voice both ways on one audio line. The link makes a new peer connection whenever the network
  // takes the old one away (signaling.js); each gets the same channel, voice and microphone.
  let micTrack = null;
  let audio = null;
  // Muting disables the track rather than removing it: the sender goes on sending silence, so
  // nothing is renegotiated and unmuting is instant (the operator hears the next word).
  function applyMute() {
    if (micTrack) micTrack.enabled = !state.microphoneMuted;
    state.microphoneSending = Boolean(micTrack && micTrack.enabled && audio?.sender.track === micTrack);
    render();
  }
  mute.addEventListener("click", () => {
    state.microphoneMuted = !state.microphoneMuted;
    applyMute();
  });
  let peer = null;
  // one alignment of voice and motion for the whole visit, reading whichever connection is current
  const sync = syncVoiceAndMotion({
    pc: () => peer,
    receiver: () => audio?.receiver ?? null,
    buffer,
    state,
    audioContext: listener.context,
    analyser,
    trace: options.trace ?? addressHas("trace"),
    marks: options.syncMarks ?? addressHas("sync-marks"),
    align: !addressHas("sync-off"), // measured but not aligned: for the side-by-side benchmark
    // the motion follows the voice pose by pose (docs/live-room.md, "The motion follows the voice")
    follow: !addressHas("hold-voice"),
  });
  function setupPeer(pc) {
    peer = pc;
    state.peerConnections += 1;
    channel = pc.createDataChannel("motion", { ordered: false, maxRetransmits: 0 });
    channel.binaryType = "arraybuffer";
    channel.onmessage = (e) => onPacket(e.data);
    channel.onopen = () => setConnection("connected");
    audio = pc.addTransceiver("audio", { direction: "sendrecv" });
    sync.watch(audio.receiver);
    if (micTrack) audio.sender.replaceTrack(micTrack).then(applyMute);
    pc.ontrack = (e) => {
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      // Chrome only feeds a remote stream into Web Audio while a media element holds it too
      const holder = new Audio();
      holder.muted = true;
      holder.srcObject = stream;
      holder.play().catch(() => {});
      if (voice.source) voice.disconnect(); // a previous connection's voice
      voice.setMediaStreamSource(stream);
      const source = listener.context.createMediaStreamSource(stream);
      source.connect(analyser);
      sync.listen(source);
      resume();
    };
  }
  navigator.mediaDevices
    ?.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } })
    .then((stream) => {
      micTrack = stream.getAudioTracks()[0];
      micTrack.enabled = !state.microphoneMuted;
      state.microphone = true;
      audio?.sender.replaceTrack(micTrack).then(applyMute);
      render();
    })
    .catch((err) => console.info("no microphone:", err.name));
  await sync.ready; // the voice's timing ready before the first audio line is made (av_sync.js)
  const link = openPeerLink(roomId, { role: "customer", ...(token ? { token } : {}) }, {
    setup: setupPeer,
    onState(s, message) {
      if (s === "connected") return; // said when the motion channel opens
      if (s === "ended") setConnection("closed");
      else if (s === "refused") {
        state.error = message;
        setConnection("failed");
      } else setConnection(s); // connecting, reconnecting, blocked
    },
  });

  const stats = setInterval(async () => {
    const pc = link.peer();
    if (!pc) return;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") state.audioBytesReceived = s.bytesReceived;
      // what the microphone puts on the line: 0 while muted (the track sends silence)
      if (s.type === "media-source" && s.kind === "audio" && s.audioLevel !== undefined) state.outgoingAudioLevel = s.audioLevel;
    });
    state.microphoneSending = Boolean(micTrack && micTrack.enabled && audio?.sender.track === micTrack);
  }, 500);

  let avatar;
  try {
    avatar = await avatarLoading;
  } catch (err) {
    // no room without its avatar: hang up rather than leave a voice with nothing to see
    clearInterval(stats);
    sync.close();
    removeEventListener("resize", onResize);
    link.close();
    renderer.dispose();
    state.error = String(err);
    setConnection("failed");
    throw err;
  }
  world.add(avatar.object3d);
  const xr = addEnterVR(renderer, container, world, state);
  const panels = addXrPanels(renderer, world, state, { brandColor: look.brand_color ?? "#2f6f8f", lang });

  let last = performance.now();
  renderer.setAnimationLoop(() => {
    const now = performance.now();
    const pose = showBufferedPose(avatar, buffer, state, now);
    if (pose) {
      // the first draw of a pose at least as new as a reported packet is that packet's render
      for (const [seq, at] of awaitingRender) {
        if (seq !== pose.seq && !seqNewer(pose.seq, seq)) continue;
        awaitingRender.delete(seq);
        state.receiveToRenderMs = now - at;
        report({ type: "rendered", seq, after_receive_ms: state.receiveToRenderMs });
      }
    }
    avatar.update((now - last) / 1000);
    last = now;
    if (!renderer.xr.isPresenting) controls.update();
    analyser.getFloatTimeDomainData(levels);
    let sum = 0;
    for (const v of levels) sum += v * v;
    state.audioLevel = Math.sqrt(sum / levels.length);
    renderer.render(scene, camera);
    xr.update(avatar.object3d);
    panels.update();
  });

  return {
    setLanguage(l) {
      lang = l;
      render();
      panels.setLanguage(l);
    },
    showChat(messages) {
      panels.setChat(messages);
    },
    showProduct(shown) {
      panels.setProduct(shown);
    },
    close() {
      closed = true;
      clearInterval(stats);
      sync.close();
      renderer.setAnimationLoop(null);
      removeEventListener("resize", onResize);
      xr.dispose();
      panels.dispose();
      link.close();
      avatar.dispose?.();
      renderer.dispose();
      container.replaceChildren();
      setConnection("closed");
    },
  };
}
