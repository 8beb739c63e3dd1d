// Signaling for a live room (avatar_care/api/routes/signaling.py), shared by the customer's room,
// the operator's console and a supervisor's listening: one WebSocket per peer connection carries
// the join, then the offer, then the answer. The offer goes once ICE gathering is complete, since
// the server takes no trickled candidates (aiortc gathers its own before answering).

/**
 * Open the room's signaling socket, join (`join` is the message without its type: `{role, token}`
 * or `{role, operator_key}`), offer `pc` and apply the answer.
 * @param {string} roomId
 * @param {RTCPeerConnection} pc
 * @param {object} join
 * @param {(message: {type: string, message?: string}) => void} onMessage every other message
 *   ("error" with a message to show, "left" when the consultation ends)
 * @returns {WebSocket}
 */
export function connectSignaling(roomId, pc, join, onMessage) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/rooms/${encodeURIComponent(roomId)}`);
  ws.onopen = () => ws.send(JSON.stringify({ type: "join", ...join }));
  ws.onmessage = async (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === "joined") {
      await pc.setLocalDescription(await pc.createOffer());
      if (pc.iceGatheringState !== "complete") {
        await new Promise((resolve) =>
          pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve()),
        );
      }
      ws.send(JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }));
    } else if (msg.type === "answer") {
      await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
    } else {
      onMessage(msg);
    }
  };
  return ws;
}
