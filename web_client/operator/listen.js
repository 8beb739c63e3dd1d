// A supervisor listens in on a consultation's live room: the voice comes in, nothing goes out.
// Publishes its state on window.avatarCareListening (connected, audio bytes received) for tests
// and diagnostics.

import { connectSignaling } from "../room/signaling.js";

/**
 * @param {string} roomId the live room (from POST /api/sessions/{id}/listen)
 * @param {string} token the supervisor's bearer token
 * @param {HTMLAudioElement} audio where the voice plays
 * @param {(state: "connecting"|"listening"|"ended"|"failed", message?: string) => void} onState
 * @returns {{close(): void}}
 */
export function listenIn(roomId, token, audio, onState) {
  const state = { connected: false, audioBytesReceived: 0, error: null };
  window.avatarCareListening = state;
  let closed = false;
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver("audio", { direction: "recvonly" });
  // an application line as well: the room answers offers made the way its other pages make them
  pc.createDataChannel("listen");
  pc.ontrack = (e) => {
    audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    audio.play().catch(() => {});
  };
  pc.onconnectionstatechange = () => {
    state.connected = pc.connectionState === "connected";
    if (state.connected) onState("listening");
    else if (pc.connectionState === "failed" && !closed) onState("failed");
  };
  const ws = connectSignaling(roomId, pc, { role: "listener", token }, (msg) => {
    if (msg.type === "left") {
      onState("ended", msg.message);
    } else if (msg.type === "error") {
      state.error = msg.message;
      onState("failed", msg.message);
    }
  });
  const stats = setInterval(async () => {
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") state.audioBytesReceived = s.bytesReceived;
    });
  }, 500);
  onState("connecting");
  return {
    close() {
      closed = true;
      clearInterval(stats);
      ws.close();
      pc.close();
      audio.srcObject = null;
      state.connected = false;
    },
  };
}
