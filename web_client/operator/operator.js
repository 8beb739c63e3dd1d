// The operator console's queue panel: offers to accept, own consultations (chat, notes, products,
// transfers cold or warm after a consult, end), consults asked of this operator, the wrap-up of
// ended consultations (after-call work), callbacks.
import { api, applyTranslations, formatWait, getLanguage, liveSnapshots, mountLanguageSwitch, onLanguageChange, registerStrings, t } from "../common/i18n.js";
import { mountSupervision } from "./supervise.js";
import { renderSupervisedNote } from "./supervised.js";
import { recordingLine } from "./recording_state.js";
import { startSingleSignOn, takeSingleSignOnResult } from "../common/sso.js";
import { mountChatLog } from "../common/chat_log.js";

registerStrings("operator", {
  it: {
    title: "Console operatore", signIn: "Accedi", brand: "Numero del brand", login: "Utente", password: "Password",
    signInButton: "Accedi", hello: "Ciao, {name}", presence: "Presenza", available: "Disponibile", busy: "Occupato",
    away: "Assente", offline: "Non in linea", signOut: "Esci", queue: "Clienti in attesa", position: "#",
    customer: "Cliente", language: "Lingua", topic: "Argomento", action: "Azione", accept: "Accetta",
    decline: "Rifiuta", offeredToYou: "offerto a te", waitingCount: "{n} in attesa, {offers} offerti a te",
    mySessions: "Le mie consulenze", none: "Nessuna", chat: "Chat", message: "Messaggio", send: "Invia",
    notes: "Note", saveNotes: "Salva note", transferSkill: "Trasferisci a competenza", transfer: "Trasferisci",
    end: "Termina", product: "Prodotto", showProduct: "Mostra", addToCart: "Nel carrello",
    callbacks: "Messaggi e richiamate", done: "Fatto", callbackAt: "richiamare il {when}",
    customerSays: "Cliente", operatorSays: "Tu", figures: "Indicatori in diretta (ultime 24 ore)",
    queueLength: "In coda", asa: "Velocità di risposta", serviceLevel: "Livello di servizio (soglia di ogni stanza)",
    abandonment: "Abbandoni", aht: "Durata media", csat: "CSAT",
    mediaTitle: "Videocamera e avatar", mediaFor: "In onda nella consulenza con {name}",
    mediaNone: "Nessuna consulenza in corso: la videocamera parte quando ne accetti una.",
    mediaFailed: "La videocamera non è partita: {message}", cameraHere: "Videocamera qui",
    signedOut: "Sei stato disconnesso: l'accesso è stato revocato o è scaduto, oppure l'account è stato disattivato. Accedi di nuovo.",
    transferTo: "Trasferisci a", transferBySkill: "Solo per competenza (sotto)", roomOption: "Stanza: {name}",
    colleagueOption: "Collega: {name} ({presence})", consult: "Consulta il collega", handOver: "Passa il cliente",
    cancelConsult: "Annulla il consulto", consultAsked: "Consulto chiesto a {name}: in attesa che accetti.",
    consultWith: "Consulto con {name}", consultMessage: "Messaggio al collega", consultLog: "Consulto",
    consultsTitle: "Consulti chiesti a te", consultsNone: "Nessun consulto.", consultFrom: "{from} ti chiede un consulto su {customer}",
    joinConsult: "Partecipa al consulto", declineConsult: "Rifiuta il consulto", colleagueSays: "Collega",
    afterCallTitle: "Lavoro post-chiamata", afterCallNone: "Nessun lavoro post-chiamata: ricevi nuove offerte.",
    afterCallNote: "Non ricevi nuove offerte finché il lavoro post-chiamata non è chiuso.",
    afterCallFor: "{customer}: tempo fino alle {until}", afterCallOver: "{customer}: tempo scaduto, serve il codice",
    wrapUpCode: "Codice di chiusura per {customer}", wrapUpRequired: "(obbligatorio)", noCode: "Nessun codice",
    wrapUp: "Chiudi il lavoro post-chiamata", chooseCode: "Scegli un codice di chiusura.",
    chooseColleague: "Scegli un collega in «Trasferisci a».",
  },
  en: {
    title: "Operator console", signIn: "Sign in", brand: "Brand number", login: "Login", password: "Password",
    signInButton: "Sign in", hello: "Hello, {name}", presence: "Presence", available: "Available", busy: "Busy",
    away: "Away", offline: "Offline", signOut: "Sign out", queue: "Waiting customers", position: "#",
    customer: "Customer", language: "Language", topic: "Topic", action: "Action", accept: "Accept",
    decline: "Decline", offeredToYou: "offered to you", waitingCount: "{n} waiting, {offers} offered to you",
    mySessions: "My consultations", none: "None", chat: "Chat", message: "Message", send: "Send",
    notes: "Notes", saveNotes: "Save notes", transferSkill: "Transfer to skill", transfer: "Transfer",
    end: "End", product: "Product", showProduct: "Show", addToCart: "Add to cart",
    callbacks: "Messages and callbacks", done: "Done", callbackAt: "call back at {when}",
    customerSays: "Customer", operatorSays: "You", figures: "Live figures (last 24 hours)",
    queueLength: "Waiting", asa: "Speed of answer", serviceLevel: "Service level (each room's threshold)",
    abandonment: "Abandonment", aht: "Average handle time", csat: "CSAT",
    mediaTitle: "Camera and avatar", mediaFor: "Live in the consultation with {name}",
    mediaNone: "No consultation running: the camera starts when you accept one.",
    mediaFailed: "The camera could not start: {message}", cameraHere: "Camera here",
    signedOut: "You were signed out: the sign-in was revoked or expired, or the account was disabled. Sign in again.",
    transferTo: "Transfer to", transferBySkill: "By skill only (below)", roomOption: "Room: {name}",
    colleagueOption: "Colleague: {name} ({presence})", consult: "Consult colleague", handOver: "Hand over",
    cancelConsult: "Cancel consult", consultAsked: "Consult asked of {name}: waiting for them to join.",
    consultWith: "Consult with {name}", consultMessage: "Message to colleague", consultLog: "Consult",
    consultsTitle: "Consults asked of you", consultsNone: "No consults.", consultFrom: "{from} asks you to consult about {customer}",
    joinConsult: "Join consult", declineConsult: "Decline consult", colleagueSays: "Colleague",
    afterCallTitle: "After-call work", afterCallNone: "No after-call work: you are offered customers.",
    afterCallNote: "You are offered no one until your after-call work is done.",
    afterCallFor: "{customer}: time until {until}", afterCallOver: "{customer}: time is up, the code is needed",
    wrapUpCode: "Wrap-up code for {customer}", wrapUpRequired: "(required)", noCode: "No code",
    wrapUp: "Finish after-call work", chooseCode: "Choose a wrap-up code.",
    chooseColleague: "Choose a colleague under \"Transfer to\".",
  },
});

const TOKEN_KEY = "avatar-care.operator-token";
const $ = (id) => document.getElementById(id);
let token = localStorage.getItem(TOKEN_KEY);
let me = null;
let live = null;
let figuresTimer = null;
let last = null;
let catalogue = [];
let media = null; // the mounted operator media (or a placeholder while it loads)
let mediaRoom = null;
let chosenRoom = null; // with several rooms running, the one the operator put the camera in
let mediaNote = ["operator.mediaNone", {}];
let supervision = null; // the supervisor's dashboard (supervise.js), once signed in as one
const drafts = new Map(); // unsent chat text per session survives re-rendering
const targets = new Map(); // the transfer target chosen per session survives re-rendering
const codes = new Map(); // the wrap-up code chosen per ended session survives re-rendering
// Each consultation's chat log, by session id: kept across re-renders and only appended to, so a
// screen reader announces each new message once (a rebuilt list would be new to it every time).
const chatLogs = new Map();
const chatLabel = (sender) => (sender === "operator" ? t("operator.operatorSays") : t("operator.customerSays"));

mountLanguageSwitch($("lang"));
onLanguageChange((lang) => {
  media?.setLanguage?.(lang);
  for (const log of chatLogs.values()) log.relabel();
  if (last) render(last);
});
const auth = () => ({ Authorization: `Bearer ${token}` });
const fail = (error) => ($("error").textContent = t("common.error", { message: error.message }));

function button(label, onClick, secondary = false) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (secondary) b.className = "secondary";
  b.addEventListener("click", async () => {
    try {
      await onClick();
    } catch (error) {
      fail(error);
    }
  });
  return b;
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const out = await api("/api/operators/login", {
      method: "POST",
      body: { brand_id: Number($("brand-id").value), login: $("login").value, password: $("password").value },
    });
    token = out.token;
    localStorage.setItem(TOKEN_KEY, token);
    $("error").textContent = "";
    await enter();
  } catch (error) {
    fail(error);
  }
});

$("sign-out").addEventListener("click", async () => {
  await api("/api/operators/me/presence", { method: "PUT", body: { presence: "offline" }, headers: auth() }).catch(() => {});
  localStorage.removeItem(TOKEN_KEY);
  live?.close();
  closeMedia();
  stopListening();
  location.reload();
});

$("presence").addEventListener("change", async () => {
  try {
    await api("/api/operators/me/presence", { method: "PUT", body: { presence: $("presence").value }, headers: auth() });
  } catch (error) {
    fail(error);
  }
});

// The server closed the panel's socket for good (4401): the console stops, camera and listening
// included, and the sign-in form comes back with the reason.
function signedOut() {
  localStorage.removeItem(TOKEN_KEY);
  token = null;
  live = null;
  clearInterval(figuresTimer);
  closeMedia();
  stopListening();
  $("console").hidden = true;
  $("signin").hidden = false;
  $("error").textContent = t("operator.signedOut");
}

async function enter() {
  try {
    me = await api("/api/operators/me", { headers: auth() });
  } catch {
    localStorage.removeItem(TOKEN_KEY);
    token = null;
    return;
  }
  catalogue = await api("/api/catalogue/for-operator", { headers: auth() }).catch(() => []);
  $("signin").hidden = true;
  $("console").hidden = false;
  $("me-title").textContent = t("operator.hello", { name: me.name });
  // 4401 on the open socket: the token was revoked or expired, or the account disabled or deleted
  live = liveSnapshots("/ws/queue/operator", token, render, signedOut, addChat);
  if (me.role === "supervisor") {
    supervision = mountSupervision({ token: () => token, auth, button, audio: $("listen-audio") });
    $("listen-panel").hidden = false;
    $("operators-panel").hidden = false;
    $("supervisor-figures").hidden = false;
    refreshFigures();
    figuresTimer = setInterval(refreshFigures, 5000);
  }
}

// Supervisors watch the brand's figures beside the queue.
async function refreshFigures() {
  let f;
  try {
    f = await api("/api/figures", { headers: auth() });
  } catch (error) {
    fail(error);
    return;
  }
  const pct = (x) => (x == null ? "—" : `${Math.round(x * 100)}%`);
  const rows = [
    ["queueLength", String(f.queue_length)],
    ["asa", formatWait(f.average_speed_of_answer_s)],
    ["serviceLevel", pct(f.service_level)],
    ["abandonment", pct(f.abandonment_rate)],
    ["aht", formatWait(f.average_handle_time_s)],
    ["csat", f.csat == null ? "—" : `${f.csat.toFixed(1)} / 5`],
  ];
  $("figures").replaceChildren(...rows.map(([label, value]) => {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = t(`operator.${label}`);
    const dd = document.createElement("dd");
    dd.textContent = value;
    div.append(dt, dd);
    return div;
  }));
}

function render(view) {
  last = view;
  $("me-title").textContent = t("operator.hello", { name: me.name });
  if (document.activeElement !== $("presence")) $("presence").value = view.presence;
  $("queue-summary").textContent = t("operator.waitingCount", { n: view.waiting.length, offers: view.offers.length });
  $("queue-rows").replaceChildren(...view.waiting.map((w) => {
    const tr = document.createElement("tr");
    for (const text of [w.position, w.customer_name || "—", w.language, w.topic || "—"]) {
      const td = document.createElement("td");
      td.textContent = String(text);
      tr.append(td);
    }
    const td = document.createElement("td");
    if (view.offers.includes(w.session_id)) {
      td.append(
        button(t("operator.accept"), () => api(`/api/queue/${w.session_id}/accept`, { method: "POST", headers: auth() })),
        " ",
        button(t("operator.decline"), () => api(`/api/queue/${w.session_id}/decline`, { method: "POST", headers: auth() }), true),
      );
    }
    tr.append(td);
    return tr;
  }));
  syncMedia(view.sessions); // first: the sessions' camera buttons show where it is
  renderSessions(view.sessions);
  renderConsults(view.consults ?? []);
  renderAfterCall(view.after_call ?? []);
  renderSupervisedNote($("supervised-note"), view.sessions);
  if (me.role === "supervisor") supervision?.render(view);
  $("callback-list").replaceChildren(...view.contact_requests.map((c) => {
    const li = document.createElement("li");
    const when = c.callback_at ? ` (${t("operator.callbackAt", { when: new Date(c.callback_at).toLocaleString() })})` : "";
    li.textContent = `${c.kind}: ${c.contact}${when} ${c.text} `;
    li.append(button(t("operator.done"), () => api(`/api/queue/contact-requests/${c.id}/done`, { method: "POST", headers: auth() }), true));
    return li;
  }));
}

// A consultation's chat log, made the first time the panel shows it.
function chatLogOf(sessionId) {
  let log = chatLogs.get(sessionId);
  if (!log) {
    const list = document.createElement("ul");
    list.className = "chat-log";
    log = mountChatLog(list, chatLabel);
    chatLogs.set(sessionId, log);
  }
  return log;
}

// New messages, sent alone as soon as they were stored: only the consultation's log changes (the
// panel's copy keeps them too, for the next re-render).
function addChat(messages) {
  for (const m of messages) {
    const s = last?.sessions.find((x) => x.session_id === m.session_id);
    if (!s) continue; // not on this panel (yet): its next snapshot holds the whole chat
    if (m.id > (s.chat.at(-1)?.id ?? 0)) s.chat.push(m);
    chatLogOf(m.session_id).add([m]);
  }
}

function renderSessions(sessions) {
  const list = $("session-list");
  for (const id of chatLogs.keys()) {
    if (!sessions.some((s) => s.session_id === id)) chatLogs.delete(id); // ended or transferred
  }
  if (sessions.length === 0) {
    list.textContent = t("operator.none");
    return;
  }
  const focused = document.activeElement?.id;
  // the logs move into the new boxes: where each was scrolled to stays
  const scrolled = new Map([...chatLogs].map(([id, log]) => [id, log.element.scrollTop]));
  list.replaceChildren(...sessions.map((s) => {
    const box = document.createElement("article");
    box.setAttribute("aria-label", s.customer_name || s.session_id);
    const h = document.createElement("h3");
    h.textContent = `${s.customer_name || "—"} (${s.language}) ${s.topic}`;
    const chat = chatLogOf(s.session_id);
    chat.add(s.chat);
    const log = chat.element;
    const form = document.createElement("form");
    form.className = "row";
    const inputId = `chat-${s.session_id}`;
    const label = document.createElement("label");
    label.htmlFor = inputId;
    label.textContent = t("operator.message");
    const input = document.createElement("input");
    input.id = inputId;
    input.value = drafts.get(s.session_id) || "";
    input.addEventListener("input", () => drafts.set(s.session_id, input.value));
    const send = document.createElement("button");
    send.type = "submit";
    send.textContent = t("operator.send");
    form.append(label, input, send);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api(`/api/sessions/${s.session_id}/chat`, { method: "POST", body: { text: input.value }, headers: auth() });
        drafts.delete(s.session_id);
        input.value = "";
      } catch (error) {
        fail(error);
      }
    });
    const notesId = `notes-${s.session_id}`;
    const notesLabel = document.createElement("label");
    notesLabel.htmlFor = notesId;
    notesLabel.textContent = t("operator.notes");
    const notes = document.createElement("textarea");
    notes.id = notesId;
    notes.value = s.notes;
    const productId = `product-${s.session_id}`;
    const productLabel = document.createElement("label");
    productLabel.htmlFor = productId;
    productLabel.textContent = t("operator.product");
    const product = document.createElement("select");
    product.id = productId;
    for (const item of catalogue) product.append(new Option(item.name, item.id));
    const skillId = `skill-${s.session_id}`;
    const skillLabel = document.createElement("label");
    skillLabel.htmlFor = skillId;
    skillLabel.textContent = t("operator.transferSkill");
    const skill = document.createElement("input");
    skill.id = skillId;
    const targetId = `target-${s.session_id}`;
    const targetLabel = document.createElement("label");
    targetLabel.htmlFor = targetId;
    targetLabel.textContent = t("operator.transferTo");
    const target = document.createElement("select");
    target.id = targetId;
    target.append(new Option(t("operator.transferBySkill"), ""));
    for (const room of last?.templates ?? []) {
      if (room.id !== s.template_id) target.append(new Option(t("operator.roomOption", { name: room.name }), `template:${room.id}`));
    }
    for (const c of last?.colleagues ?? []) {
      target.append(new Option(t("operator.colleagueOption", { name: c.name, presence: t(`operator.${c.presence}`) }), `operator:${c.id}`));
    }
    target.value = targets.get(s.session_id) ?? "";
    target.addEventListener("change", () => targets.set(s.session_id, target.value));
    const transferBody = () => {
      const [kind, id] = target.value.split(":");
      const skills = skill.value.split(",").map((x) => x.trim()).filter(Boolean);
      if (kind === "template") return { to_template: id, ...(skills.length ? { skills } : {}) };
      if (kind === "operator") return { to_operator: id };
      return { skills };
    };
    const actions = document.createElement("div");
    actions.className = "row";
    actions.append(
      button(t("operator.saveNotes"), () => api(`/api/sessions/${s.session_id}/notes`, { method: "PUT", body: { notes: notes.value }, headers: auth() }), true),
      button(t("operator.showProduct"), () => api(`/api/sessions/${s.session_id}/show`, { method: "POST", body: { item_id: product.value }, headers: auth() }), true),
      button(t("operator.addToCart"), () => api(`/api/sessions/${s.session_id}/cart/${product.value}`, { method: "PUT", body: { quantity: 1 }, headers: auth() }), true),
      button(t("operator.transfer"), () => api(`/api/sessions/${s.session_id}/transfer`, { method: "POST", body: transferBody(), headers: auth() }), true),
      button(t("operator.consult"), () => {
        const [kind, id] = target.value.split(":");
        if (kind !== "operator") {
          target.focus();
          throw new Error(t("operator.chooseColleague"));
        }
        return api(`/api/sessions/${s.session_id}/consult`, { method: "POST", body: { colleague_id: id }, headers: auth() });
      }, true),
      button(t("operator.end"), () => api(`/api/sessions/${s.session_id}/end`, { method: "POST", headers: auth() })),
    );
    const rooms = new Set(sessions.map((x) => x.live_room_id).filter(Boolean));
    if (rooms.size > 1 && s.live_room_id) {
      // several rooms: the camera is in one at a time, the operator says which
      const here = s.live_room_id === mediaRoom;
      const camera = button(t("operator.cameraHere"), () => {
        chosenRoom = s.live_room_id;
        if (last) render(last);
      }, !here);
      camera.id = `camera-${s.session_id}`;
      camera.setAttribute("aria-pressed", String(here));
      actions.append(camera);
    }
    box.append(h, recordingLine(s, auth, fail), log, form, notesLabel, notes, productLabel, product, targetLabel, target, skillLabel, skill, actions);
    if (s.consult) box.append(consultBox(s.session_id, s.consult, true));
    return box;
  }));
  for (const [id, top] of scrolled) {
    const log = chatLogs.get(id);
    if (log) log.element.scrollTop = top;
  }
  if (focused) document.getElementById(focused)?.focus();
}

// A consult between two operators about a customer (the customer does not see it): its messages, a
// field to write, and for the operator who asked it the hand-over and the cancel.
function consultBox(sessionId, consult, asker) {
  const box = document.createElement("div");
  box.setAttribute("role", "group");
  const name = asker ? consult.with_name : consult.from_name;
  box.setAttribute("aria-label", t("operator.consultWith", { name }));
  const status = document.createElement("p");
  status.textContent = consult.accepted ? t("operator.consultWith", { name }) : t("operator.consultAsked", { name });
  box.append(status);
  if (consult.accepted) {
    const log = document.createElement("ul");
    log.className = "chat-log";
    log.setAttribute("aria-label", t("operator.consultLog"));
    for (const m of consult.messages) {
      const li = document.createElement("li");
      li.textContent = `${m.sender === me.id ? t("operator.operatorSays") : t("operator.colleagueSays")}: ${m.text}`;
      log.append(li);
    }
    const form = document.createElement("form");
    form.className = "row";
    const inputId = `consult-${sessionId}`;
    const label = document.createElement("label");
    label.htmlFor = inputId;
    label.textContent = t("operator.consultMessage");
    const input = document.createElement("input");
    input.id = inputId;
    input.value = drafts.get(inputId) || "";
    input.addEventListener("input", () => drafts.set(inputId, input.value));
    const send = document.createElement("button");
    send.type = "submit";
    send.textContent = t("operator.send");
    form.append(label, input, send);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api(`/api/sessions/${sessionId}/consult/messages`, { method: "POST", body: { text: input.value }, headers: auth() });
        drafts.delete(inputId);
        input.value = "";
      } catch (error) {
        fail(error);
      }
    });
    box.append(log, form);
  }
  if (asker) {
    const row = document.createElement("div");
    row.className = "row";
    if (consult.accepted) row.append(button(t("operator.handOver"), () => api(`/api/sessions/${sessionId}/hand-over`, { method: "POST", headers: auth() })));
    row.append(button(t("operator.cancelConsult"), () => api(`/api/sessions/${sessionId}/consult`, { method: "DELETE", headers: auth() }), true));
    box.append(row);
  }
  return box;
}

// Consults colleagues asked of this operator: join or decline, then talk about the customer.
function renderConsults(consults) {
  const focused = document.activeElement?.id;
  const list = $("consult-list");
  if (consults.length === 0) {
    list.textContent = t("operator.consultsNone");
    return;
  }
  list.replaceChildren(...consults.map((c) => {
    const item = document.createElement("article");
    const h = document.createElement("h3");
    h.textContent = t("operator.consultFrom", { from: c.from_name, customer: c.customer_name || "—" });
    item.append(h);
    if (!c.accepted) {
      const row = document.createElement("div");
      row.className = "row";
      row.append(
        button(t("operator.joinConsult"), () => api(`/api/sessions/${c.session_id}/consult/answer`, { method: "POST", body: { accept: true }, headers: auth() })),
        button(t("operator.declineConsult"), () => api(`/api/sessions/${c.session_id}/consult/answer`, { method: "POST", body: { accept: false }, headers: auth() }), true),
      );
      item.append(row);
    } else {
      item.append(consultBox(c.session_id, c, false));
    }
    return item;
  }));
  if (focused) document.getElementById(focused)?.focus();
}

// After-call work: each ended consultation's wrap-up code (required or not, as the room says) and
// its time box; the operator is offered no one until it is done.
function renderAfterCall(items) {
  const focused = document.activeElement?.id;
  $("after-call-note").textContent = items.length ? t("operator.afterCallNote") : t("operator.afterCallNone");
  $("after-call-list").replaceChildren(...items.map((a) => {
    const customer = a.customer_name || "—";
    const form = document.createElement("form");
    form.className = "row";
    const until = new Date(a.until);
    const timing = document.createElement("p");
    timing.textContent = until > new Date()
      ? t("operator.afterCallFor", { customer, until: until.toLocaleTimeString() })
      : t("operator.afterCallOver", { customer });
    const id = `wrap-up-${a.session_id}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = `${t("operator.wrapUpCode", { customer })}${a.required ? ` ${t("operator.wrapUpRequired")}` : ""}`;
    const select = document.createElement("select");
    select.id = id;
    if (a.required) select.required = true;
    select.append(new Option(a.required ? t("operator.chooseCode") : t("operator.noCode"), ""));
    for (const code of a.codes) select.append(new Option(code, code));
    select.value = codes.get(a.session_id) ?? "";
    select.addEventListener("change", () => codes.set(a.session_id, select.value));
    const done = document.createElement("button");
    done.type = "submit";
    done.textContent = t("operator.wrapUp");
    form.append(timing, label, select, done);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api(`/api/sessions/${a.session_id}/wrap-up`, { method: "POST", body: { code: select.value || null }, headers: auth() });
        codes.delete(a.session_id);
      } catch (error) {
        fail(error);
      }
    });
    return form;
  }));
  if (focused) document.getElementById(focused)?.focus();
}

// The camera and avatar go live in the room of the first running consultation (customers of a
// shared room share it); authenticated with this operator's own token.
function syncMedia(sessions) {
  const running = sessions.find((s) => s.live_room_id && s.live_room_id === chosenRoom)
    ?? sessions.find((s) => s.live_room_id);
  const wanted = running?.live_room_id ?? null;
  if (wanted !== mediaRoom) {
    closeMedia();
    if (wanted) mountMedia(running);
  }
  const [key, params] = mediaRoom ? mediaNote : ["operator.mediaNone", {}];
  const text = t(key, params);
  if ($("media-for").textContent !== text) $("media-for").textContent = text;
}

async function mountMedia(session) {
  mediaRoom = session.live_room_id;
  mediaNote = ["operator.mediaFor", { name: session.customer_name || "—" }];
  const placeholder = { close() {} };
  media = placeholder;
  try {
    const module = await import("../console/operator_media.js");
    const mounted = await module.mountOperatorMedia($("operator-media"), {
      roomId: session.live_room_id,
      token,
      avatarUrl: session.avatar_url ?? undefined,
      lang: getLanguage(),
    });
    if (media === placeholder) media = mounted;
    else mounted.close(); // the consultation ended while the camera was starting
  } catch (error) {
    if (media !== placeholder) return;
    mediaNote = ["operator.mediaFailed", { message: error.message || error.name || String(error) }];
    $("media-for").textContent = t(...mediaNote);
  }
}

function closeMedia() {
  const mounted = media;
  media = null;
  mediaRoom = null;
  try {
    mounted?.close();
  } catch {
    // already closed
  }
  $("operator-media").replaceChildren();
}

function stopListening() {
  supervision?.close();
  supervision = null;
}

$("sso-form").addEventListener("submit", (event) => {
  event.preventDefault();
  startSingleSignOn($("sso-brand").value, "operator");
});

applyTranslations();
// Back from the brand's provider: signed in (the same token as a password sign-in) or told why not.
const sso = takeSingleSignOnResult();
if (sso?.token) {
  token = sso.token;
  localStorage.setItem(TOKEN_KEY, token);
} else if (sso) {
  const show = () => ($("error").textContent = sso.error());
  show();
  onLanguageChange(show);
  $("sso-brand").focus();
}
if (token) enter();
