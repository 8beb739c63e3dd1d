// A peer connection to a live room that survives networks, shared by the customer's room, the
// operator's console and a supervisor's listening (avatar_care/api/routes/signaling.py).
//
// One WebSocket per attempt carries the join, then the offer, then the answer; the server's
// `joined` message hands out the ICE configuration (servers, TURN credentials minted for this
// participant, transport policy: avatar_care/live/ice.py), so no page holds one of its own. The
// server takes no trickled candidates, so the offer carries the candidates gathered before it goes:
// when gathering is complete, or `relayGraceMs` after the first relay candidate, or at
// `gatherTimeoutMs` with what there is (see `gathered`).
//
// When the connection is lost (ICE failed, disconnected for a while, the signaling socket closed,
// or the device changed network), the link makes a new peer connection and joins again with the
// same credentials: the server replaces this participant's previous peer in the same session (the
// server's WebRTC stack cannot restart ICE on an existing connection). After `maxAttempts` attempts
// in a row that never connect, it says "blocked": the page tells the person that their network
// blocks the call, instead of spinning; it keeps trying now and then in the background (the server
// may have been restarting) and at once when the device changes network. When the server says it
// cannot take the room this moment (`retry_ms`: its room server is being replaced), the link tries
// again after that long without counting it against the network (bounded by `maxBusy`).

export const RECONNECT = {
  disconnectedGraceMs: 5000, // "disconnected" often heals by itself (a busy machine, a brief loss)
  attemptTimeoutMs: 15000, // an attempt that has not connected by then has failed
  maxAttempts: 3,
  backoffMs: [300, 1500, 4000],
  blockedRetryMs: 20000, // once blocked, a quiet attempt this often
  maxBusy: 60, // attempts in a row the server says to retry (no room server free) before counting as lost
  relayGraceMs: 2000, // after the first relay candidate, this long for the others before offering
  gatherTimeoutMs: 6000, // with no relay candidate and gathering not complete, offer after this long
};

/**
 * Resolves when `peer`'s offer should go: its gathering is complete, or `relayGraceMs` after its
 * first relay candidate, or at `gatherTimeoutMs`. Gathering completes only when every ICE server
 * has answered or timed out, and a firewall that silently drops what it does not let through makes
 * that slow: on a network letting out only TLS to the relay, Chromium has its `turns:` relay
 * candidate within seconds and its gathering is not complete after 20 s, beyond an attempt's
 * deadline (tests/network/test_customer_networks.py; docs/live-room.md).
 * @param {RTCPeerConnection} peer
 * @param {{relayGraceMs: number, gatherTimeoutMs: number}} opts
 * @returns {Promise<string>} why it resolved: "complete", "relay" or "timeout"
 */
export function gathered(peer, opts) {
  return new Promise((resolve) => {
    let grace = null;
    const timeout = setTimeout(() => done("timeout"), opts.gatherTimeoutMs);
    function done(why) {
      clearTimeout(timeout);
      clearTimeout(grace);
      peer.removeEventListener("icegatheringstatechange", onState);
      peer.removeEventListener("icecandidate", onCandidate);
      resolve(why);
    }
    function onState() {
      if (peer.iceGatheringState === "complete") done("complete");
    }
    function onCandidate(e) {
      if (grace === null && e.candidate && e.candidate.type === "relay") {
        grace = setTimeout(() => done("relay"), opts.relayGraceMs);
      }
    }
    peer.addEventListener("icegatheringstatechange", onState);
    peer.addEventListener("icecandidate", onCandidate);
    onState();
  });
}

/** What the pages say about the network, in Italian and English. */
export const NETWORK_STRINGS = {
  it: {
    reconnecting: "Connessione persa: riconnessione in corso…",
    blocked:
      "La rete che stai usando sembra bloccare la chiamata. Prova un'altra rete (per esempio i dati mobili invece del Wi-Fi), " +
      "disattiva VPN o proxy, oppure chiedi al tuo servizio informatico di consentire le chiamate WebRTC. Intanto continuiamo a riprovare da soli.",
  },
  en: {
    reconnecting: "Connection lost: reconnecting…",
    blocked:
      "The network you are on seems to block the call. Try another network (for example mobile data instead of Wi-Fi), " +
      "turn off a VPN or proxy, or ask your IT desk to allow WebRTC calls. Meanwhile we keep trying by ourselves.",
  },
};

/**
 * Connect to the room and keep connected.
 * @param {string} roomId
 * @param {object} join the join message without its type: `{role, token}` or `{role, operator_key}`
 * @param {{
 *   setup: (pc: RTCPeerConnection) => void,
 *   onState: (state: "connecting"|"connected"|"reconnecting"|"blocked"|"ended"|"refused", message?: string) => void,
 * }} handlers `setup` adds the page's channels, tracks and handlers to each new peer connection;
 *   `onState` hears the link's state ("ended": the server let this participant go; "refused": the
 *   server refused the join, for good)
 * @param {Partial<typeof RECONNECT>} [options]
 * @returns {{peer(): RTCPeerConnection|null, reconnect(): void, close(): void}}
 */
export function openPeerLink(roomId, join, handlers, options = {}) {
  const opts = { ...RECONNECT, ...options };
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/ws/rooms/${encodeURIComponent(roomId)}`;
  let ws = null;
  let pc = null;
  let stopped = false;
  let failures = 0;
  let busy = 0; // the server's "retry" answers in a row
  let everConnected = false;
  let blocked = false; // said so; attempts go on quietly until one connects
  let attemptTimer = null;
  let graceTimer = null;
  let retryTimer = null;

  function teardown() {
    clearTimeout(attemptTimer);
    clearTimeout(graceTimer);
    clearTimeout(retryTimer);
    if (ws) {
      const old = ws;
      ws = null;
      old.onopen = old.onmessage = old.onclose = old.onerror = null;
      old.close();
    }
    if (pc) {
      const old = pc;
      pc = null;
      old.close();
    }
  }

  function attempt() {
    teardown();
    if (stopped) return;
    if (!blocked) handlers.onState(everConnected ? "reconnecting" : "connecting");
    const socket = new WebSocket(url);
    ws = socket;
    attemptTimer = setTimeout(() => lost("no connection in time"), opts.attemptTimeoutMs);
    socket.onopen = () => socket.send(JSON.stringify({ type: "join", ...join }));
    socket.onclose = () => socket === ws && lost("signaling closed");
    socket.onmessage = async (e) => {
      if (socket !== ws) return;
      const msg = JSON.parse(e.data);
      if (msg.type === "joined") {
        const peer = new RTCPeerConnection(msg.ice);
        pc = peer;
        peer.addEventListener("connectionstatechange", () => watch(peer));
        handlers.setup(peer);
        const ready = gathered(peer, opts); // listening before gathering starts
        await peer.setLocalDescription(await peer.createOffer());
        await ready;
        if (peer === pc) socket.send(JSON.stringify({ type: "offer", sdp: peer.localDescription.sdp }));
      } else if (msg.type === "answer") {
        await pc?.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      } else if (msg.type === "left") {
        stop();
        handlers.onState("ended", msg.message);
      } else if (msg.type === "error" && msg.code) {
        // a refused join (unknown token, not allowed, no such room): trying again will not help
        stop();
        handlers.onState("refused", msg.message);
      } else if (msg.type === "error" && msg.retry_ms > 0 && busy < opts.maxBusy) {
        // the server has no room server for this room this moment: not the network's fault
        busy += 1;
        teardown();
        if (!blocked) handlers.onState(everConnected ? "reconnecting" : "connecting");
        retryTimer = setTimeout(attempt, Math.min(msg.retry_ms, opts.blockedRetryMs));
      } else if (msg.type === "error") {
        console.warn("signaling:", msg.message);
        lost(msg.message);
      }
    };
  }

  function watch(peer) {
    if (peer !== pc || stopped) return;
    const s = peer.connectionState;
    if (s === "connected") {
      clearTimeout(attemptTimer);
      clearTimeout(graceTimer);
      failures = 0;
      busy = 0;
      everConnected = true;
      blocked = false;
      handlers.onState("connected");
    } else if (s === "disconnected") {
      if (!blocked) handlers.onState("reconnecting");
      clearTimeout(graceTimer);
      graceTimer = setTimeout(() => peer === pc && lost("disconnected"), opts.disconnectedGraceMs);
    } else if (s === "failed") {
      lost("ICE failed");
    }
  }

  function lost(why) {
    if (stopped) return;
    teardown();
    failures += 1;
    console.info(`live room connection lost (${why}); attempt ${failures} of ${opts.maxAttempts}`);
    const giveUp = failures >= opts.maxAttempts;
    if (giveUp && !blocked) {
      blocked = true;
      handlers.onState("blocked");
    } else if (!blocked) {
      handlers.onState(everConnected ? "reconnecting" : "connecting");
    }
    const delay = giveUp ? opts.blockedRetryMs : opts.backoffMs[Math.min(failures, opts.backoffMs.length) - 1];
    retryTimer = setTimeout(attempt, delay);
  }

  function networkChanged() {
    // a new network (Wi-Fi to mobile, back online): the old path is gone, a new peer finds the new one
    if (stopped) return;
    failures = 0;
    attempt();
  }

  function stop() {
    stopped = true;
    removeEventListener("online", networkChanged);
    navigator.connection?.removeEventListener?.("change", networkChanged);
    teardown();
  }

  addEventListener("online", networkChanged);
  navigator.connection?.addEventListener?.("change", networkChanged);
  attempt();
  return {
    peer: () => pc,
    reconnect: networkChanged,
    close: stop,
  };
}
