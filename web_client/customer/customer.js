// The customer's page: join with the brand's signed link, wait (live position), talk and chat, rate.
import { api, applyTranslations, formatWait, getLanguage, liveSnapshots, mountLanguageSwitch, onLanguageChange, registerStrings, t } from "../common/i18n.js";
import { mountChatLog } from "../common/chat_log.js";
import { mountRecordingConsent } from "./recording_consent.js";

// What the customer is told of a supervisor in the consultation (the server says which: one who
// joins the conversation always, one who listens where the brand chose so, one who whispers never).
registerStrings("supervision", {
  it: {
    barger: "Un responsabile si è unito alla conversazione: ti sente e puoi parlargli.",
    listener: "Un responsabile ascolta la conversazione per verificare la qualità del servizio.",
  },
  en: {
    barger: "A supervisor has joined the conversation: they hear you and you can speak to them.",
    listener: "A supervisor is listening to the conversation to check the quality of service.",
  },
});

registerStrings("customer", {
  it: {
    title: "Consulenza", joining: "Ingresso in corso…", closedTitle: "In questo momento siamo chiusi",
    nextOpen: "Riapriamo {when}.", waitingTitle: "Attendi: un operatore sarà da te a breve",
    position: "Sei {position}° in coda. Attesa stimata: {wait}.", positionUnknown: "Sei {position}° in coda.",
    longWait: "L'attesa è lunga: puoi lasciare un messaggio o chiedere di essere richiamato.",
    leaveQueue: "Esci dalla coda", contactTitle: "Lascia un messaggio o chiedi di essere richiamato",
    contactKind: "Cosa preferisci?", kindMessage: "Un messaggio", kindCallback: "Essere richiamato",
    contactHow: "E-mail o telefono", contactText: "Messaggio", contactWhen: "Richiamami il",
    send: "Invia", sent: "Ricevuto: ti ricontatteremo.", connectedWith: "Sei in consulenza con {name}",
    chat: "Chat", yourMessage: "Il tuo messaggio", you: "Tu", operator: "Operatore",
    shown: "L'operatore ti sta mostrando", cart: "Il tuo carrello", checkout: "Vai alla cassa",
    checkoutDone: "Carrello inviato al negozio.", problem: "Segnala un problema", problemText: "Cosa non ha funzionato?",
    problemSent: "Segnalazione ricevuta, grazie.", end: "Termina la consulenza", surveyTitle: "Com'è andata?",
    rating: "Il tuo voto, da 1 (male) a 5 (ottimo)", comment: "Commento (facoltativo)", thanks: "Grazie!",
    left: "Sei uscito dalla coda.", noLink: "Per entrare serve il link dal sito del negozio.",
    transferredTitle: "Ti stiamo passando a un collega: resti in testa alla coda",
    liveRoom: "La stanza della consulenza", roomUnavailable: "Avatar e voce non si sono potuti avviare qui; la chat e il resto funzionano.",
    logo: "Logo del negozio",
  },
  en: {
    title: "Consultation", joining: "Joining…", closedTitle: "We are closed right now",
    nextOpen: "We open again {when}.", waitingTitle: "Please wait: an operator will be with you soon",
    position: "You are number {position} in the queue. Estimated wait: {wait}.", positionUnknown: "You are number {position} in the queue.",
    longWait: "It is taking a while: you may leave a message or ask us to call you back.",
    leaveQueue: "Leave the queue", contactTitle: "Leave a message or ask for a callback",
    contactKind: "What would you like?", kindMessage: "A message", kindCallback: "A callback",
    contactHow: "E-mail or phone", contactText: "Message", contactWhen: "Call me back at",
    send: "Send", sent: "Received: we will get back to you.", connectedWith: "You are talking with {name}",
    chat: "Chat", yourMessage: "Your message", you: "You", operator: "Operator",
    shown: "The operator is showing you", cart: "Your cart", checkout: "Go to checkout",
    checkoutDone: "Cart sent to the shop.", problem: "Report a problem", problemText: "What went wrong?",
    problemSent: "Report received, thank you.", end: "End the consultation", surveyTitle: "How did it go?",
    rating: "Your rating, from 1 (bad) to 5 (excellent)", comment: "Comment (optional)", thanks: "Thank you!",
    left: "You left the queue.", noLink: "To join you need the link from the shop's site.",
    transferredTitle: "We are passing you to a colleague: you stay at the front of the queue",
    liveRoom: "The consultation room", roomUnavailable: "The avatar and voice could not start here; chat and everything else go on.",
    logo: "The shop's logo",
  },
});

const SESSION_KEY = "avatar-care.customer-session";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// Join links carry the token in the fragment (#token=…), which browsers never send to a server nor
// in a Referer; a link with it in the query (?token=…) still works.
const joinToken = new URLSearchParams(location.hash.slice(1)).get("token") ?? params.get("token");
let access = localStorage.getItem(SESSION_KEY);
let last = null;
let room = null; // the mounted live room (or a placeholder while it loads)
let roomId = null;
// each message once, whether it came in a snapshot or alone as soon as it was sent
const chatLog = mountChatLog($("chat-log"), (sender) => (sender === "operator" ? t("customer.operator") : t("customer.you")));
let contactWithSession = false;
let contactSent = false;

mountLanguageSwitch($("lang"));
const recording = mountRecordingConsent($("recording"), () => auth(), (error) => fail(error));
onLanguageChange((lang) => {
  room?.setLanguage?.(lang);
  chatLog.relabel();
  if (last) render(last);
});

function show(...ids) {
  for (const id of ["joining", "closed", "waiting", "contact", "connected", "survey", "thanks"]) $(id).hidden = !ids.includes(id);
}

function fail(error) {
  $("error").textContent = t("common.error", { message: error.message });
}

const auth = () => ({ Authorization: `Bearer ${access}` });

async function start() {
  if (joinToken) {
    try {
      const joined = await api("/api/customer/join", { method: "POST", body: { token: joinToken } });
      access = joined.access_token;
      localStorage.setItem(SESSION_KEY, access);
      history.replaceState(null, "", location.pathname); // the spent link leaves the address bar
    } catch (error) {
      if (error.status === 409 && error.body && "next_open" in error.body) {
        show("closed", "contact");
        $("next-open").textContent = error.body.next_open
          ? t("customer.nextOpen", { when: new Date(error.body.next_open).toLocaleString() }) : "";
        return;
      }
      show();
      fail(error);
      return;
    }
  } else if (!joinToken && !access && params.get("room")) {
    try {
      const joined = await api("/api/customer/join", { method: "POST", body: { template_id: params.get("room"), language: navigator.language.slice(0, 2) } });
      access = joined.access_token;
      localStorage.setItem(SESSION_KEY, access);
    } catch (error) {
      show();
      fail(error);
      return;
    }
  }
  if (!access) {
    show();
    $("error").textContent = t("customer.noLink");
    return;
  }
  contactWithSession = true;
  liveSnapshots("/ws/queue/customer", access, render, () => {
    localStorage.removeItem(SESSION_KEY);
    show();
    $("error").textContent = t("customer.noLink");
  }, addChat);
}

// The room as the brand configured it, from joining on: its greeting, its colour as the page's
// accent (a border, never behind text: any colour keeps the text readable), its logo.
function renderLook(look) {
  $("greeting").hidden = !look?.greeting;
  if ($("greeting").textContent !== (look?.greeting ?? "")) $("greeting").textContent = look?.greeting ?? "";
  if (look?.brand_color) document.documentElement.style.setProperty("--brand", look.brand_color);
  const logo = $("brand-logo");
  logo.hidden = !look?.logo_url;
  if (look?.logo_url && logo.getAttribute("src") !== look.logo_url) logo.src = look.logo_url;
}

function render(s) {
  last = s;
  renderLook(s.room);
  if (s.state === "queued" || s.state === "offered" || s.state === "transferred") {
    closeRoom(); // a transfer leaves the room: the next operator's room mounts when connected
    show("waiting", ...(s.may_leave_message ? ["contact"] : []));
    const title = t(s.state === "transferred" ? "customer.transferredTitle" : "customer.waitingTitle");
    if ($("waiting-title").textContent !== title) $("waiting-title").textContent = title;
    $("long-wait").hidden = !s.may_leave_message;
    const text = s.estimated_wait_s == null
      ? t("customer.positionUnknown", { position: s.position })
      : t("customer.position", { position: s.position, wait: formatWait(s.estimated_wait_s) });
    if ($("position-status").textContent !== text) $("position-status").textContent = text;
  } else if (s.state === "connected") {
    show("connected");
    $("connected-title").textContent = t("customer.connectedWith", { name: s.operator_name || t("customer.operator") });
    renderSupervision(s.supervision ?? []);
    recording.render(s.recording);
    renderChat(s.chat);
    renderShown(s.shown);
    renderCart(s.cart);
    mountRoom(s);
    room?.showChat?.(s.chat);
    room?.showProduct?.(s.shown);
  } else if (s.state === "ended") {
    closeRoom();
    show(s.rated ? "thanks" : "survey");
  } else {
    closeRoom();
    show("thanks");
    $("thanks").querySelector("h2").textContent = contactSent ? t("customer.sent") : t("customer.left");
  }
}

function renderSupervision(modes) {
  const text = modes.map((mode) => t(`supervision.${mode}`)).join(" ");
  const notice = $("supervision-notice");
  if (notice.textContent !== text) notice.textContent = text; // said again only when it changes
}

function renderChat(messages) {
  chatLog.add(messages);
}

// New messages, sent alone: the page's copy of the session keeps them too (a re-render shows them).
function addChat(messages) {
  if (!last) return; // a snapshot always comes first; it holds these
  const mine = messages.filter((m) => m.session_id === last.session_id);
  const newest = last.chat.at(-1)?.id ?? 0; // ids grow with every message stored
  last.chat.push(...mine.filter((m) => m.id > newest));
  chatLog.add(mine);
  room?.showChat?.(last.chat);
}

function renderShown(shown) {
  $("shown").hidden = !shown;
  if (!shown) return;
  const img = $("shown-image");
  img.hidden = shown.kind !== "image";
  if (shown.kind === "image") {
    img.src = shown.media_url;
    img.alt = shown.name;
  }
  $("shown-link").href = shown.link;
  $("shown-link").textContent = shown.price ? `${shown.name} — ${shown.price}` : shown.name;
}

function renderCart(lines) {
  $("cart").hidden = lines.length === 0;
  $("cart-lines").replaceChildren(...lines.map((line) => {
    const li = document.createElement("li");
    li.textContent = `${line.quantity} × ${line.name}${line.price ? ` (${line.price})` : ""}`;
    return li;
  }));
}

// The live room of the connected session (avatar, voice): its id and avatar come with the session,
// the customer joins it with their own session token. Loaded on demand; the page works without it.
async function mountRoom(s) {
  const live = s.live_room;
  if (!live || roomId === live.id) return;
  closeRoom();
  roomId = live.id;
  const placeholder = { close() {} };
  room = placeholder;
  $("room-unavailable").hidden = true;
  try {
    const module = await import("../room/customer_room.js");
    const mounted = await module.mountCustomerRoom($("customer-room"), {
      roomId: live.id,
      sessionId: s.session_id,
      token: access,
      avatarUrl: live.avatar_url ?? undefined,
      lang: getLanguage(),
      look: s.room ?? {},
    });
    if (room === placeholder) {
      room = mounted;
      // what came while the room loaded, for its panels in VR
      room.showChat(last?.chat ?? []);
      room.showProduct(last?.shown ?? null);
    } else mounted.close(); // the session ended while the room was loading
  } catch (error) {
    console.info("live room not available:", error);
    if (room === placeholder) $("room-unavailable").hidden = false;
  }
}

function closeRoom() {
  const mounted = room;
  room = null;
  roomId = null;
  try {
    mounted?.close();
  } catch {
    // already closed
  }
}

$("chat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("chat-text").value.trim();
  if (!text) return;
  try {
    await api("/api/customer/chat", { method: "POST", body: { text }, headers: auth() });
    $("chat-text").value = "";
  } catch (error) {
    fail(error);
  }
});

$("leave-queue").addEventListener("click", async () => {
  try {
    await api("/api/customer/leave", { method: "POST", headers: auth() });
  } catch (error) {
    fail(error);
  }
});

$("end").addEventListener("click", async () => {
  try {
    await api("/api/customer/leave", { method: "POST", headers: auth() });
  } catch (error) {
    fail(error);
  }
});

$("checkout").addEventListener("click", async () => {
  try {
    await api("/api/customer/checkout", { method: "POST", headers: auth() });
    $("checkout-status").textContent = t("customer.checkoutDone");
  } catch (error) {
    fail(error);
  }
});

$("problem-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/api/customer/problem", { method: "POST", body: { text: $("problem-text").value }, headers: auth() });
    $("problem-text").value = "";
    $("checkout-status").textContent = t("customer.problemSent");
  } catch (error) {
    fail(error);
  }
});

$("contact-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const kind = new FormData(event.target).get("kind");
  const when = $("contact-when").value;
  const body = {
    kind, contact: $("contact-how").value, text: $("contact-text").value,
    callback_at: kind === "callback" && when ? new Date(when).toISOString() : null,
  };
  contactSent = true; // the queue's snapshot (left the queue) may arrive before this answer
  try {
    if (contactWithSession) {
      await api("/api/customer/contact-request", { method: "POST", body, headers: auth() });
    } else {
      await api("/api/customer/contact", { method: "POST", body: { ...body, token: joinToken } });
    }
    $("contact-done").textContent = t("customer.sent");
    $("contact-form").hidden = true;
    if (last) render(last);
  } catch (error) {
    contactSent = false;
    fail(error);
  }
});

$("survey-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const csat = Number(new FormData(event.target).get("csat"));
  try {
    await api("/api/customer/survey", { method: "POST", body: { csat, comment: $("survey-comment").value }, headers: auth() });
    localStorage.removeItem(SESSION_KEY);
    show("thanks");
  } catch (error) {
    fail(error);
  }
});

applyTranslations();
start();
