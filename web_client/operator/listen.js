// A supervisor listens in on a consultation's live room: the voice comes in, nothing goes out.
// Publishes its state on window.avatarCareListening (connected, audio bytes received) for tests
// and diagnostics. The connection comes back by itself when the network takes it away
// (room/signaling.js).

import { openPeerLink } from "../room/signaling.js";

/**
 * @param {string} roomId the live room (from POST /api/sessions/{id}/listen)
 * @param {string} token the supervisor's bearer token
 * @param {HTMLAudioElement} audio where the voice plays
 * @param {(state: "connecting"|"listening"|"reconnecting"|"blocked"|"ended"|"failed", message?: string) => void} onState
 * @returns {{close(): void}}
 */
export function listenIn(roomId, token, audio, onState) {
  const state = { connected: false, audioBytesReceived: 0, error: null };
  window.avatarCareListening = state;
  const link = openPeerLink(roomId, { role: "listener", token }, {
    setup(pc) {
      pc.addTransceiver("audio", { direction: "recvonly" });
      // an application line as well: the room answers offers made the way its other pages make them
      pc.createDataChannel("listen");
      pc.ontrack = (e) => {
        audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
        audio.play().catch(() => {});
      };
    },
    onState(s, message) {
      state.connected = s === "connected";
      if (s === "connected") onState("listening");
      else if (s === "refused") {
        state.error = message;
        onState("failed", message);
      } else onState(s, message); // connecting, reconnecting, blocked, ended
    },
  });
  const stats = setInterval(async () => {
    const pc = link.peer();
    if (!pc) return;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") state.audioBytesReceived = s.bytesReceived;
    });
  }, 500);
  return {
    close() {
      clearInterval(stats);
      link.close();
      audio.srcObject = null;
      state.connected = false;
    },
  };
}
