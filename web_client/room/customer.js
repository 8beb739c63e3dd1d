// The customer's view of a live room: the operator's avatar, driven by motion packets.
// Publishes its live state on window.avatarCare for tests and diagnostics.
import * as THREE from "three";

import { decodeMotionPacket } from "../src/motion_codec.js";
import { loadAvatar } from "./avatar.js";
import { JitterBuffer } from "./jitter_buffer.js";
import { buildRoomScene } from "./scene.js";

const STRINGS = {
  it: { connecting: "Connessione alla stanza…", connected: "Connesso: l'operatore è con te", failed: "Connessione non riuscita", language: "Lingua", stage: "La stanza della consulenza, con l'avatar dell'operatore" },
  en: { connecting: "Connecting to the room…", connected: "Connected: your operator is with you", failed: "The connection failed", language: "Language", stage: "The consultation room, with the operator's avatar" },
};
const params = new URLSearchParams(location.search);
let lang = localStorage.getItem("avatarCare.lang") ?? (navigator.language?.toLowerCase().startsWith("it") ? "it" : "en");
const state = { connected: false, packetsReceived: 0, packetsPerSecond: 0, lastBones: {}, lastExpressions: {}, latency: null, error: null, connection: "connecting" };
window.avatarCare = state;

function render() {
  const s = STRINGS[lang];
  document.documentElement.lang = lang;
  const status = document.getElementById("status");
  status.textContent = s[state.connection];
  status.dataset.state = state.connection;
  document.getElementById("language-label").textContent = `${s.language} `;
  document.getElementById("language").value = lang;
  document.getElementById("stage").setAttribute("aria-label", s.stage);
}
document.getElementById("language").addEventListener("change", (e) => {
  lang = e.target.value;
  localStorage.setItem("avatarCare.lang", lang);
  render();
});
function setConnection(c) { state.connection = c; state.connected = c === "connected"; render(); }
render();

// the scene
const renderer = new THREE.WebGLRenderer({ antialias: true });
renderer.setPixelRatio(Math.min(2, devicePixelRatio));
renderer.setSize(innerWidth, innerHeight);
document.getElementById("stage").appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color("#e9e4dc");
scene.add(buildRoomScene({}));
const camera = new THREE.PerspectiveCamera(35, innerWidth / innerHeight, 0.1, 50);
camera.position.set(0, 1.45, 2.4); // conversational distance, across the counter
camera.lookAt(0, 1.3, 0);
addEventListener("resize", () => {
  camera.aspect = innerWidth / innerHeight;
  camera.updateProjectionMatrix();
  renderer.setSize(innerWidth, innerHeight);
});
const avatar = await loadAvatar(params.get("avatar") ?? "/assets/avatars/Asian_F_1_Casual.vrm");
scene.add(avatar.object3d);

// the motion
const buffer = new JitterBuffer(70);
const arrivals = [];
function onPacket(data) {
  const now = performance.now();
  let packet;
  try { packet = decodeMotionPacket(data); } catch (err) { state.error = String(err); return; }
  buffer.push(packet, now);
  state.packetsReceived += 1;
  arrivals.push(now);
  while (arrivals.length && arrivals[0] < now - 1000) arrivals.shift();
  state.packetsPerSecond = arrivals.length;
  state.latency = packet.timing;
}

let last = performance.now();
renderer.setAnimationLoop(() => {
  const now = performance.now();
  const pose = buffer.sample(now);
  if (pose) {
    avatar.applyPose(pose);
    state.lastBones = pose.bones;
    state.lastExpressions = pose.expressions;
  }
  avatar.update((now - last) / 1000);
  last = now;
  renderer.render(scene, camera);
});

// the connection: signaling over a WebSocket, motion over an unordered, unreliable data channel
async function connect() {
  const room = params.get("room") ?? "demo";
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/rooms/${encodeURIComponent(room)}`);
  const pc = new RTCPeerConnection({ iceServers: [] });
  const channel = pc.createDataChannel("motion", { ordered: false, maxRetransmits: 0 });
  channel.binaryType = "arraybuffer";
  channel.onmessage = (e) => onPacket(e.data);
  channel.onopen = () => setConnection("connected");
  channel.onclose = () => setConnection("failed");
  pc.onconnectionstatechange = () => { if (pc.connectionState === "failed") setConnection("failed"); };
  ws.onmessage = async (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === "joined") {
      await pc.setLocalDescription(await pc.createOffer());
      if (pc.iceGatheringState !== "complete") {
        await new Promise((resolve) => pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve()));
      }
      ws.send(JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }));
    } else if (msg.type === "answer") {
      await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
    } else if (msg.type === "error") {
      state.error = msg.message;
      setConnection("failed");
    }
  };
  ws.onopen = () => ws.send(JSON.stringify({ type: "join", role: "customer" }));
  ws.onerror = () => setConnection("failed");
}
connect();
