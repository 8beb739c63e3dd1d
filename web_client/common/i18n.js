// Italian and English for every page: language from navigator.language, switchable, remembered.
const STORAGE_KEY = "avatar-care.lang";
const SUPPORTED = ["it", "en"];
const strings = { it: {}, en: {} };
const listeners = new Set();

function initialLanguage() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // storage may be blocked (private mode); the browser's language still applies
  }
  if (SUPPORTED.includes(stored)) return stored;
  const nav = (navigator.language || "en").slice(0, 2).toLowerCase();
  return SUPPORTED.includes(nav) ? nav : "en";
}

let current = initialLanguage();

export function registerStrings(namespace, table) {
  for (const lang of SUPPORTED) {
    for (const [key, value] of Object.entries(table[lang] || {})) {
      strings[lang][`${namespace}.${key}`] = value;
    }
  }
}

export function t(key, params = {}) {
  const template = strings[current][key] ?? strings.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

export function getLanguage() {
  return current;
}

export function setLanguage(lang) {
  if (!SUPPORTED.includes(lang)) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered, but still switched
  }
  document.documentElement.lang = lang;
  applyTranslations();
  for (const listener of listeners) listener(lang);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

// Elements with data-i18n="ns.key" get their text; data-i18n-attr="placeholder:ns.key,aria-label:ns.key" attributes.
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(",")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

// A visible language switch (a labelled select), placed in `container`.
export function mountLanguageSwitch(container) {
  const wrapper = document.createElement("div");
  wrapper.className = "lang-switch";
  const label = document.createElement("label");
  label.htmlFor = "language-switch";
  label.dataset.i18n = "common.language";
  const select = document.createElement("select");
  select.id = "language-switch";
  for (const [value, name] of [["it", "Italiano"], ["en", "English"]]) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = name;
    option.lang = value;
    select.append(option);
  }
  select.value = current;
  select.addEventListener("change", () => setLanguage(select.value));
  wrapper.append(label, select);
  container.append(wrapper);
  document.documentElement.lang = current;
  applyTranslations();
}

registerStrings("common", {
  it: { language: "Lingua", error: "Errore: {message}", seconds: "{n} s", minutes: "{n} min" },
  en: { language: "Language", error: "Error: {message}", seconds: "{n} s", minutes: "{n} min" },
});

export function formatWait(seconds) {
  if (seconds == null) return "—";
  return seconds < 90 ? t("common.seconds", { n: Math.round(seconds) }) : t("common.minutes", { n: Math.round(seconds / 60) });
}

// fetch JSON with a clear Error (the server's detail) when refused.
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail ?? response.status));
    error.status = response.status;
    error.body = data;
    throw error;
  }
  return data;
}

// A WebSocket that reconnects (with back-off) and hands every JSON snapshot to onSnapshot, and the
// chat messages the server sends alone ({type: "chat", messages}) to onChat. Every (re)connection
// starts with a snapshot: the page's whole state, whatever it missed while disconnected.
export function liveSnapshots(path, token, onSnapshot, onClosedForGood, onChat) {
  let delay = 500;
  let stopped = false;
  let socket = null;
  const open = () => {
    const url = new URL(path, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(url);
    // The token goes in the first message, never in the URL (where access logs would keep it).
    socket.onopen = () => {
      delay = 500;
      socket.send(JSON.stringify({ type: "auth", token }));
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "chat") onChat?.(message.messages);
      else onSnapshot(message);
    };
    socket.onclose = (event) => {
      if (stopped) return;
      if (event.code === 4401) {
        onClosedForGood?.();
        return;
      }
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
  return { close: () => { stopped = true; socket?.close(); } };
}
