// The supervisor's dashboard in the console: the brand's live consultations, each with one button
// to listen, whisper to the operator or barge into the conversation, and the operators' states
// and figures. Every mode is granted and recorded first (POST /api/sessions/{id}/{listen|whisper|barge});
// the server records each start and end in the brand's audit log.
import { api, formatWait, registerStrings, t } from "../common/i18n.js";
import { NETWORK_STRINGS } from "../room/signaling.js";
import { superviseIn } from "./listen.js";

registerStrings("supervise", {
  it: {
    title: "Consulenze in corso", customer: "Cliente", operator: "Operatore", since: "Dalle", actions: "Supervisione",
    listener: "Ascolta", whisperer: "Suggerisci", barger: "Intervieni",
    stop_listener: "Smetti di ascoltare", stop_whisperer: "Smetti di suggerire", stop_barger: "Lascia la conversazione",
    row: "{customer} con {operator}", idle: "Non stai ascoltando.", none: "Nessuna consulenza in corso.",
    connecting_listener: "Collegamento all'ascolto di {customer}…",
    connecting_whisperer: "Collegamento per suggerire a {operator}…",
    connecting_barger: "Collegamento alla conversazione con {customer}…",
    on_listener: "In ascolto: {customer} con {operator}",
    on_whisperer: "Suggerisci a {operator}, il cliente non ti sente: {customer} con {operator}",
    on_barger: "Nella conversazione: {customer} con {operator}. Il cliente è avvisato del tuo intervento.",
    ended: "La consulenza che ascoltavi è terminata.", failed: "Collegamento non riuscito: {message}",
    reconnecting: NETWORK_STRINGS.it.reconnecting, blocked: NETWORK_STRINGS.it.blocked,
    operatorsTitle: "Operatori", name: "Nome", presence: "Presenza", now: "In consulenza",
    handled: "Concluse (24 ore)", aht: "Durata media", csat: "CSAT",
    available: "Disponibile", busy: "Occupato", away: "Assente", offline: "Non in linea",
  },
  en: {
    title: "Live consultations", customer: "Customer", operator: "Operator", since: "Since", actions: "Supervise",
    listener: "Listen", whisperer: "Whisper", barger: "Barge in",
    stop_listener: "Stop listening", stop_whisperer: "Stop whispering", stop_barger: "Leave the conversation",
    row: "{customer} with {operator}", idle: "You are not listening.", none: "No consultation running.",
    connecting_listener: "Connecting to listen to {customer}…",
    connecting_whisperer: "Connecting to whisper to {operator}…",
    connecting_barger: "Connecting to the conversation with {customer}…",
    on_listener: "Listening: {customer} with {operator}",
    on_whisperer: "Whispering to {operator}, the customer does not hear you: {customer} with {operator}",
    on_barger: "In the conversation: {customer} with {operator}. The customer is told you joined.",
    ended: "The consultation you listened to has ended.", failed: "Could not connect: {message}",
    reconnecting: NETWORK_STRINGS.en.reconnecting, blocked: NETWORK_STRINGS.en.blocked,
    operatorsTitle: "Operators", name: "Name", presence: "Presence", now: "In consultation",
    handled: "Ended (24 hours)", aht: "Average handle time", csat: "CSAT",
    available: "Available", busy: "Busy", away: "Away", offline: "Offline",
  },
});

const MODES = [
  ["listener", "listen"],
  ["whisperer", "whisper"],
  ["barger", "barge"],
];
const FIGURES_EVERY_MS = 5000;
const $ = (id) => document.getElementById(id);

/**
 * @param {{token: () => string, auth: () => object, button: (label: string, onClick: () => any, secondary?: boolean) => HTMLButtonElement, audio: HTMLAudioElement}} ctx
 * @returns {{render(view: object): void, stop(): void, close(): void}}
 */
export function mountSupervision(ctx) {
  let current = null; // {sessionId, row, role, state, message, handle}
  let view = null;
  let figures = new Map(); // operator id -> their figures over the last 24 hours
  let closed = false;

  async function refreshFigures() {
    try {
      const out = await api("/api/figures/operators", { headers: ctx.auth() });
      figures = new Map(out.operators.map((o) => [o.operator_id, o]));
      if (view) renderOperators(view.operators ?? []);
    } catch {
      // the queue's socket says when the sign-in is gone; figures come back at the next round
    }
  }
  refreshFigures();
  const timer = setInterval(refreshFigures, FIGURES_EVERY_MS);

  function names(row, message) {
    return { customer: row.customer_name || "—", operator: row.operator_name, message: message ?? "" };
  }

  function render(next) {
    view = next;
    const rows = next.listenable ?? [];
    if (current && !rows.some((r) => r.session_id === current.sessionId) && current.state !== "ended") {
      setState("ended");
    }
    const focused = document.activeElement?.id;
    const body = $("listen-list");
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 4;
      td.textContent = t("supervise.none");
      tr.append(td);
      body.replaceChildren(tr);
    } else {
      body.replaceChildren(...rows.map(consultationRow));
    }
    renderStatus();
    renderOperators(next.operators ?? []);
    if (focused) document.getElementById(focused)?.focus();
  }

  function consultationRow(r) {
    const tr = document.createElement("tr");
    const since = r.connected_at ? new Date(r.connected_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "—";
    for (const text of [r.customer_name || "—", r.operator_name, since]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    const label = t("supervise.row", names(r));
    for (const [role, verb] of MODES) {
      const on = current?.sessionId === r.session_id && current.role === role && current.state !== "ended";
      const text = t(on ? `supervise.stop_${role}` : `supervise.${role}`);
      const b = ctx.button(text, () => (on ? stop() : start(r, role, verb)), !on && role !== "listener");
      b.id = `${verb}-${r.session_id}`;
      b.setAttribute("aria-pressed", String(on));
      b.setAttribute("aria-label", `${text}: ${label}`);
      td.append(b, " ");
    }
    tr.append(td);
    return tr;
  }

  function renderOperators(operators) {
    const body = $("operator-rows");
    body.replaceChildren(...operators.map((o) => {
      const f = figures.get(o.operator_id);
      const tr = document.createElement("tr");
      const cells = [
        o.name,
        t(`supervise.${o.presence}`),
        String(o.consultations),
        f ? String(f.handled) : "—",
        f ? formatWait(f.average_handle_time_s) : "—",
        f && f.csat != null ? `${f.csat.toFixed(1)} / 5` : "—",
      ];
      cells.forEach((text, i) => {
        const cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row";
        cell.textContent = text;
        tr.append(cell);
      });
      return tr;
    }));
  }

  function renderStatus() {
    const status = $("listen-status");
    let text = t("supervise.idle");
    if (current) {
      const key = {
        connecting: `supervise.connecting_${current.role}`,
        listening: `supervise.on_${current.role}`,
        ended: "supervise.ended",
        failed: "supervise.failed",
        reconnecting: "supervise.reconnecting",
        blocked: "supervise.blocked",
      }[current.state];
      text = t(key, names(current.row, current.message));
    }
    status.dataset.state = current?.state ?? "off";
    status.dataset.role = current?.role ?? "";
    if (status.textContent !== text) status.textContent = text;
  }

  async function start(row, role, verb) {
    stop();
    const grant = await api(`/api/sessions/${row.session_id}/${verb}`, { method: "POST", headers: ctx.auth() });
    current = { sessionId: row.session_id, row, role, state: "connecting", handle: null };
    const mine = current;
    mine.handle = superviseIn(grant.live_room_id, ctx.token(), role, ctx.audio, (state, message) => {
      if (current === mine) setState(state, message);
    });
    if (view) render(view);
  }

  function setState(state, message) {
    if (!current) return;
    current.state = state;
    current.message = message;
    if (state === "ended" || state === "failed") current.handle?.close();
    if (view) render(view);
  }

  function stop() {
    current?.handle?.close();
    current = null;
    if (view && !closed) render(view);
    else renderStatus();
  }

  return {
    render,
    stop,
    close() {
      closed = true;
      clearInterval(timer);
      stop();
    },
  };
}
