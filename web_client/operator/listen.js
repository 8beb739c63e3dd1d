// A supervisor in a consultation's live room: listening (the voice comes in, nothing goes out),
// whispering (the microphone goes to the operator alone) or barging in (to the operator and the
// customers, who are told). The server's roles (avatar_care/live/roles.py) decide who hears whom;
// this page only sends its microphone where the role speaks. Publishes its state on
// window.avatarCareListening (connected, role, audio bytes received and sent) for tests and
// diagnostics. The connection comes back by itself when the network takes it away
// (room/signaling.js).

import { openPeerLink } from "../room/signaling.js";

/** The roles that send the supervisor's voice. */
export const SPEAKING = new Set(["whisperer", "barger"]);

/**
 * @param {string} roomId the live room (from POST /api/sessions/{id}/listen, /whisper or /barge)
 * @param {string} token the supervisor's bearer token
 * @param {"listener"|"whisperer"|"barger"} role
 * @param {HTMLAudioElement} audio where the voice plays
 * @param {(state: "connecting"|"listening"|"reconnecting"|"blocked"|"ended"|"failed", message?: string) => void} onState
 * @returns {{close(): void}}
 */
export function superviseIn(roomId, token, role, audio, onState) {
  const state = { connected: false, role, audioBytesReceived: 0, audioBytesSent: 0, error: null };
  window.avatarCareListening = state;
  let link = null;
  let microphone = null;
  let closed = false;
  const stats = setInterval(async () => {
    const pc = link?.peer();
    if (!pc) return;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") state.audioBytesReceived = s.bytesReceived;
      if (s.type === "outbound-rtp" && s.kind === "audio") state.audioBytesSent = s.bytesSent;
    });
  }, 500);

  function open() {
    link = openPeerLink(roomId, { role, token }, {
      setup(pc) {
        if (microphone) pc.addTransceiver(microphone.getAudioTracks()[0], { direction: "sendrecv", streams: [microphone] });
        else pc.addTransceiver("audio", { direction: "recvonly" });
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
  }

  if (SPEAKING.has(role)) {
    onState("connecting");
    navigator.mediaDevices
      .getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } })
      .then((stream) => {
        if (closed) {
          stream.getTracks().forEach((track) => track.stop());
          return;
        }
        microphone = stream;
        open();
      })
      .catch((error) => {
        state.error = String(error?.message ?? error);
        onState("failed", state.error);
      });
  } else open();

  return {
    close() {
      closed = true;
      clearInterval(stats);
      link?.close();
      microphone?.getTracks().forEach((track) => track.stop());
      audio.srcObject = null;
      state.connected = false;
    },
  };
}

/** Listen-only, as before whispering and barging came. */
export function listenIn(roomId, token, audio, onState) {
  return superviseIn(roomId, token, "listener", audio, onState);
}
