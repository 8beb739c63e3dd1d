// The brand admin's page: rooms, avatars, operators, hours, checkout, the figures (refreshed live),
// and the reports (problem reports as tickets, survey answers, figures per operator and day: reports.js).
import { api, applyTranslations, formatWait, mountLanguageSwitch, onLanguageChange, registerStrings, t } from "../common/i18n.js";
import { startSingleSignOn, takeSingleSignOnResult } from "../common/sso.js";
import { mountAvatars } from "./avatars.js";
import { mountCatalogue } from "./catalogue.js";
import { mountReports } from "./reports.js";
import { mountSupervisionSetting } from "./supervision.js";

registerStrings("admin", {
  it: {
    title: "Amministrazione brand", signInTitle: "Accedi come amministratore del brand", signIn: "Accedi",
    signInPassword: "Password", signOut: "Esci", signedInAs: "Hai effettuato l'accesso come {name}",
    notAdmin: "Questo account non è un amministratore del brand",
    brandId: "Numero del brand", checkoutUrl: "URL del webhook di cassa", save: "Salva", figures: "Indicatori",
    period: "Periodo", lastHour: "Ultima ora", lastDay: "Ultime 24 ore", lastWeek: "Ultimi 7 giorni", template: "Stanza",
    allRooms: "Tutte le stanze", templates: "Stanze", name: "Nome", languages: "Lingue", skills: "Competenze",
    hours: "Orari", avatar: "Avatar", newTemplate: "Nuova stanza", newOperator: "Nuovo operatore", languagesHelp: "Lingue (separate da virgole)",
    skillsHelp: "Competenze (separate da virgole)", scene: "Scena", greeting: "Saluto",
    zone: "Fuso orario (vuoto: sempre aperto)", weekly: "Orario settimanale, es. mon-fri 09:00-18:00",
    maxCustomers: "Clienti per stanza",
    maxCustomersHelp: "Oltre 1, il prossimo cliente in attesa di questa stanza entra nella consulenza in corso di un operatore finché c'è un posto libero: un solo avatar, ogni cliente con la sua chat e il suo questionario.",
    maxWait: "Attesa massima prima di proporre un messaggio (s)",
    transcriptDays: "Conserva le chat per (giorni, 0 = non conservare)",
    retentionDays: "Cancella i dati dei clienti delle consulenze concluse dopo (giorni, vuoto = conserva)",
    retentionHelp: "Da 1 a 3650 giorni. Nomi, chat, note, segnalazioni e richieste vengono cancellati; orari, esito e voto restano per le statistiche.", anonymous: "Consenti clienti anonimi",
    create: "Crea", operators: "Operatori", login: "Utente", password: "Password (almeno 8 caratteri)", role: "Ruolo",
    presence: "Presenza", alwaysOpen: "sempre aperto", queueLength: "In coda ora", asa: "Velocità media di risposta",
    abandonment: "Tasso di abbandono", aht: "Durata media",
    csat: "Soddisfazione (CSAT)", sessions: "Consulenze", answered: "Risposte",
    wrapUpCodes: "Codici di chiusura (separati da virgola)", wrapUpRequired: "Serve un codice di chiusura prima del prossimo cliente",
    afterCallBox: "Lavoro post-chiamata dopo ogni consulenza (s, 0 = nessuno)", afterCall: "Lavoro post-chiamata medio",
    codesUsed: "Codici di chiusura",
    ssoTitle: "Single sign-on", ssoCallback: "Registra questo indirizzo come redirect URI presso il tuo provider:",
    ssoIssuer: "URL dell'issuer (https)", ssoClientId: "Client id", ssoClientSecret: "Client secret",
    ssoSecretHelp: "Non viene più mostrato dopo il salvataggio; lascia vuoto per tenere quello salvato.",
    ssoDomain: "Dominio email ammesso (es. example.com)", ssoGroup: "Gruppo richiesto (claim groups)",
    ssoRoleClaim: "Claim che dà il ruolo",
    ssoRoleMap: "Corrispondenza dei ruoli, es. care-leads=supervisor, it-admins=admin (vuoto: il claim nomina il ruolo)",
    ssoPasswordsOff: "Password locali disattivate: le persone di questo brand accedono solo con il single sign-on",
    ssoOff: "Disattiva il single sign-on", ssoSaved: "Impostazioni di accesso salvate.", ssoIsOff: "Single sign-on disattivato.",
    sceneBoutique: "Boutique: un bancone tra te e il cliente", sceneStudio: "Studio: una pedana aperta, niente in mezzo",
    sceneLounge: "Salotto: un tavolino e una poltrona", greetingHelp: "Mostrato al cliente dal suo ingresso, così come lo scrivi.",
    brandColor: "Colore del brand", logo: "Logo (PNG, JPEG o WebP, fino a 2 MB)", look: "Scena, colore e logo",
    boutique: "boutique", studio: "studio", lounge: "salotto", logoOf: "Logo di {name}", noLogo: "nessun logo",
    templateCreated: "Stanza «{name}» creata.", logoRefused: "Stanza «{name}» creata, ma il logo è stato rifiutato: {message}",
    sceneOf: "Scena di {name}", colorOf: "Colore di {name}", greetingOf: "Saluto di {name}", newLogoOf: "Nuovo logo di {name}",
    saveLookOf: "Salva scena, colore, saluto e logo di {name}", removeLogoOf: "Rimuovi il logo di {name}",
    removeLogo: "Rimuovi il logo", lookSaved: "Stanza «{name}» salvata.", logoRemoved: "Logo di «{name}» rimosso.",
  },
  en: {
    title: "Brand admin", signInTitle: "Sign in as the brand's administrator", signIn: "Sign in",
    signInPassword: "Password", signOut: "Sign out", signedInAs: "Signed in as {name}",
    notAdmin: "This account is not one of the brand's administrators",
    brandId: "Brand number", checkoutUrl: "Checkout webhook URL", save: "Save", figures: "Figures",
    period: "Period", lastHour: "Last hour", lastDay: "Last 24 hours", lastWeek: "Last 7 days", template: "Room",
    allRooms: "All rooms", templates: "Rooms", name: "Name", languages: "Languages", skills: "Skills",
    hours: "Hours", avatar: "Avatar", newTemplate: "New room", newOperator: "New operator", languagesHelp: "Languages (comma separated)",
    skillsHelp: "Skills (comma separated)", scene: "Scene", greeting: "Greeting",
    zone: "Time zone (empty: always open)", weekly: "Weekly hours, e.g. mon-fri 09:00-18:00",
    maxCustomers: "Customers sharing a room",
    maxCustomersHelp: "Above 1, the next waiting customer of this room joins an operator's running consultation while it has a free seat: one avatar, each customer with their own chat and survey.",
    maxWait: "Longest wait before offering a message (s)",
    transcriptDays: "Keep chat transcripts for (days, 0 = do not keep)",
    retentionDays: "Erase the customers' data of ended consultations after (days, empty = keep)",
    retentionHelp: "From 1 to 3650 days. Names, chat, notes, reports and requests go; times, outcome and rating stay for the figures.", anonymous: "Allow anonymous customers",
    create: "Create", operators: "Operators", login: "Login", password: "Password (8 characters or more)", role: "Role",
    presence: "Presence", alwaysOpen: "always open", queueLength: "Waiting now", asa: "Average speed of answer",
    abandonment: "Abandonment rate", aht: "Average handle time",
    csat: "Satisfaction (CSAT)", sessions: "Consultations", answered: "Answered",
    wrapUpCodes: "Wrap-up codes (comma separated)", wrapUpRequired: "A wrap-up code is required before the next customer",
    afterCallBox: "After-call work after each consultation (s, 0 = none)", afterCall: "Average after-call work",
    codesUsed: "Wrap-up codes",
    ssoTitle: "Single sign-on", ssoCallback: "Register this address as the redirect URI at your provider:",
    ssoIssuer: "Issuer URL (https)", ssoClientId: "Client id", ssoClientSecret: "Client secret",
    ssoSecretHelp: "Never shown again once saved; leave empty to keep the one saved.",
    ssoDomain: "Email domain admitted (e.g. example.com)", ssoGroup: "Group required (groups claim)",
    ssoRoleClaim: "Claim that gives the role",
    ssoRoleMap: "Role map, e.g. care-leads=supervisor, it-admins=admin (empty: the claim names the role)",
    ssoPasswordsOff: "Local passwords off: people of this brand sign in only with single sign-on",
    ssoOff: "Turn single sign-on off", ssoSaved: "Sign-in settings saved.", ssoIsOff: "Single sign-on is off.",
    sceneBoutique: "Boutique: a counter between you and the customer", sceneStudio: "Studio: an open platform, nothing in between",
    sceneLounge: "Lounge: a low table and an armchair", greetingHelp: "Shown to the customer from joining on, as you write it.",
    brandColor: "Brand colour", logo: "Logo (PNG, JPEG or WebP, up to 2 MB)", look: "Scene, colour and logo",
    boutique: "boutique", studio: "studio", lounge: "lounge", logoOf: "Logo of {name}", noLogo: "no logo",
    templateCreated: "Room “{name}” created.", logoRefused: "Room “{name}” created, but its logo was refused: {message}",
    sceneOf: "Scene of {name}", colorOf: "Colour of {name}", greetingOf: "Greeting of {name}", newLogoOf: "New logo of {name}",
    saveLookOf: "Save the scene, colour, greeting and logo of {name}", removeLogoOf: "Remove the logo of {name}",
    removeLogo: "Remove the logo", lookSaved: "Room “{name}” saved.", logoRemoved: "Logo of “{name}” removed.",
  },
});

// A person signs in (the brand's API key is for its own servers); the token lasts this tab's life.
const TOKEN = "avatar-care.admin-token";
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN);
let lastFigures = null;
let timer = null;

mountLanguageSwitch($("lang"));
onLanguageChange(() => lastFigures && renderFigures(lastFigures));
// the rooms' rows name their threshold fields in the page's language
onLanguageChange(() => token && !$("admin").hidden && loadTemplates().catch(fail));
const headers = () => ({ Authorization: `Bearer ${token}` });
const fail = (error) => ($("error").textContent = t("common.error", { message: error.message }));
const list = (text) => text.split(",").map((x) => x.trim()).filter(Boolean);

// "mon-fri 09:00-18:00; sat 09:00-13:00" -> {"mon": ["09:00-18:00"], ...}
function parseWeekly(text) {
  const weekly = {};
  for (const part of text.split(";").map((p) => p.trim()).filter(Boolean)) {
    const [days, ...spans] = part.split(/\s+/);
    const [from, to] = days.split("-");
    const a = DAYS.indexOf(from);
    const b = to ? DAYS.indexOf(to) : a;
    if (a < 0 || b < 0) throw new Error(`${days}?`);
    for (let i = a; i <= b; i++) weekly[DAYS[i]] = spans;
  }
  return weekly;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const out = await api("/api/operators/login", {
      method: "POST",
      body: { brand_id: Number($("sign-in-brand").value), login: $("sign-in-login").value, password: $("sign-in-password").value },
    });
    $("sign-in-password").value = "";
    if (out.operator.role !== "admin") {
      await api("/api/operators/me/logout", { method: "POST", headers: { Authorization: `Bearer ${out.token}` } });
      throw new Error(t("admin.notAdmin"));
    }
    token = out.token;
    sessionStorage.setItem(TOKEN, token);
    $("signed-in-as").textContent = t("admin.signedInAs", { name: out.operator.name });
    await open();
  } catch (error) {
    fail(error);
  }
});

$("sign-out").addEventListener("click", async () => {
  clearInterval(timer);
  await api("/api/operators/me/logout", { method: "POST", headers: headers() }).catch(() => {});
  sessionStorage.removeItem(TOKEN);
  token = null;
  avatarSection.clear();
  catalogue.clear();
  reports.clear();
  $("admin").hidden = true;
  $("sign-in-section").hidden = false;
});

async function open() {
  try {
    const [brand, me] = await Promise.all([api("/api/brand", { headers: headers() }), api("/api/operators/me", { headers: headers() })]);
    $("signed-in-as").textContent = t("admin.signedInAs", { name: me.name });
    $("error").textContent = "";
    $("sign-in-section").hidden = true;
    $("admin").hidden = false;
    $("brand-title").textContent = brand.name;
    $("brand-id").textContent = String(brand.id);
    $("checkout-url").value = brand.checkout_url || "";
    mountSupervisionSetting(brand, headers, fail);
    await Promise.all([loadTemplates(), loadOperators(), loadAvatars(), catalogue.load(), loadSignIn(), refreshFigures(), reports.load()]);
    clearInterval(timer);
    timer = setInterval(refreshFigures, 2000);
  } catch (error) {
    sessionStorage.removeItem(TOKEN);
    fail(error);
  }
}

async function loadTemplates() {
  const templates = await api("/api/templates", { headers: headers() });
  $("template-rows").replaceChildren(...templates.map((tpl) => {
    const tr = document.createElement("tr");
    tr.dataset.id = tpl.id;
    const hours = tpl.hours ? `${tpl.hours.zone} ${Object.entries(tpl.hours.weekly).map(([d, s]) => `${d} ${s.join(" ")}`).join(", ")}` : t("admin.alwaysOpen");
    tr.append(cell(tpl.name), cell(tpl.languages.join(", ")), cell(tpl.skills.join(", ")), cell(hours), cell(tpl.avatar_id || "—"), cell(tpl.id), thresholdCell(tpl), lookCell(tpl));
    return tr;
  }));
  const select = $("figures-template");
  const chosen = select.value;
  select.replaceChildren(new Option(t("admin.allRooms"), ""), ...templates.map((tpl) => new Option(tpl.name, tpl.id)));
  select.value = chosen;
  reports.setRooms(templates);
}

// A room's service-level threshold, changed in its row (the rest of the room stays as it is).
function thresholdCell(tpl) {
  const td = document.createElement("td");
  const form = document.createElement("form");
  form.className = "row";
  const input = document.createElement("input");
  input.type = "number";
  input.min = "0.1";
  input.max = "3600";
  input.step = "any";
  input.required = true;
  input.size = 6;
  input.value = String(tpl.service_level_s);
  input.setAttribute("aria-label", t("reports.thresholdOf", { name: tpl.name }));
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "secondary";
  save.textContent = t("reports.save");
  save.setAttribute("aria-label", t("reports.saveThresholdOf", { name: tpl.name }));
  form.append(input, save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { id, ...body } = tpl;
      const saved = await api(`/api/templates/${id}`, { method: "PUT", headers: headers(), body: { ...body, service_level_s: Number(input.value) } });
      $("error").textContent = "";
      $("templates-status").textContent = t("reports.thresholdSaved", { name: saved.name, seconds: saved.service_level_s });
      await loadTemplates();
      await refreshFigures();
    } catch (error) {
      fail(error);
    }
  });
  td.append(form);
  return td;
}

// A room's look in its row: the colour (a swatch and its code, for those who do not see the swatch)
// and the logo with its alternative text, then a form changing its scene, colour, greeting and
// logo (the rest of the room stays as it is), every field named with the room's name.
function lookCell(tpl) {
  const td = document.createElement("td");
  td.className = "room-look";
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.setProperty("--swatch", tpl.brand_color);
  swatch.setAttribute("aria-hidden", "true");
  const summary = document.createElement("p");
  summary.append(`${t(`admin.${tpl.scene}`)}, `, swatch, ` ${tpl.brand_color}, `);
  if (tpl.logo_url) {
    const img = document.createElement("img");
    img.src = tpl.logo_url;
    img.alt = t("admin.logoOf", { name: tpl.name });
    img.height = 32;
    summary.append(img);
  } else summary.append(t("admin.noLogo"));

  const field = (element, label) => {
    element.setAttribute("aria-label", t(label, { name: tpl.name }));
    return element;
  };
  const scene = field(document.createElement("select"), "admin.sceneOf");
  for (const name of ["boutique", "studio", "lounge"]) scene.append(new Option(t(`admin.${name}`), name));
  scene.value = tpl.scene;
  const color = field(document.createElement("input"), "admin.colorOf");
  color.type = "color";
  color.value = tpl.brand_color;
  const greeting = field(document.createElement("input"), "admin.greetingOf");
  greeting.maxLength = 500;
  greeting.value = tpl.greeting;
  const logo = field(document.createElement("input"), "admin.newLogoOf");
  logo.type = "file";
  logo.accept = "image/png,image/jpeg,image/webp";
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "secondary";
  save.textContent = t("reports.save");
  save.setAttribute("aria-label", t("admin.saveLookOf", { name: tpl.name }));
  const form = document.createElement("form");
  form.className = "row";
  form.append(scene, color, greeting, logo, save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { id, logo_url: _, ...body } = tpl;
      let saved = await api(`/api/templates/${id}`, {
        method: "PUT", headers: headers(), body: { ...body, scene: scene.value, brand_color: color.value, greeting: greeting.value },
      });
      if (logo.files[0]) saved = await uploadLogo(id, logo.files[0]);
      $("error").textContent = "";
      $("templates-status").textContent = t("admin.lookSaved", { name: saved.name });
      await loadTemplates();
      // the row was drawn anew: the keyboard goes on from the same place in it
      document.querySelector(`#template-rows tr[data-id="${id}"] .room-look button[type=submit]`)?.focus();
    } catch (error) {
      fail(error);
      await loadTemplates().catch(() => {});
    }
  });
  td.append(summary, form);
  if (tpl.logo_url) {
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = t("admin.removeLogo");
    remove.setAttribute("aria-label", t("admin.removeLogoOf", { name: tpl.name }));
    remove.addEventListener("click", async () => {
      try {
        await api(`/api/templates/${tpl.id}/logo`, { method: "DELETE", headers: headers() });
        $("error").textContent = "";
        $("templates-status").textContent = t("admin.logoRemoved", { name: tpl.name });
        await loadTemplates();
      } catch (error) {
        fail(error);
      }
    });
    td.append(remove);
  }
  return td;
}

async function loadOperators() {
  const operators = await api("/api/operators", { headers: headers() });
  $("operator-rows").replaceChildren(...operators.map((o) => {
    const tr = document.createElement("tr");
    tr.append(cell(o.login), cell(o.name), cell(o.role), cell(o.languages.join(", ")), cell(o.skills.join(", ")), cell(o.presence));
    return tr;
  }));
  reports.setPeople(operators);
}

// The avatars' section; every fresh list also refills the room form's avatar choice.
const avatarSection = mountAvatars({
  headers,
  fail,
  onList: (avatars) => $("t-avatar").replaceChildren(new Option("—", ""), ...avatars.map((a) => new Option(a.name, a.id))),
});
const loadAvatars = () => avatarSection.load();
const catalogue = mountCatalogue({ headers, fail });
const reports = mountReports({ headers, fail });

async function refreshFigures() {
  const hours = Number($("period").value);
  const since = new Date(Date.now() - hours * 3600 * 1000).toISOString();
  const params = new URLSearchParams({ since });
  if ($("figures-template").value) params.set("template_id", $("figures-template").value);
  try {
    renderFigures(await api(`/api/figures?${params}`, { headers: headers() }));
    await reports.refreshFigures(since, $("figures-template").value);
  } catch (error) {
    fail(error);
  }
}

function renderFigures(f) {
  lastFigures = f;
  const pct = (x) => (x == null ? "—" : `${Math.round(x * 100)}%`);
  const rows = [
    ["queueLength", "figure-queue", String(f.queue_length)],
    ["sessions", "figure-sessions", String(f.sessions)],
    ["answered", "figure-answered", String(f.answered)],
    ["asa", "figure-asa", formatWait(f.average_speed_of_answer_s)],
    [f.service_level_s == null ? "reports.serviceLevelEach" : "reports.serviceLevelAt", "figure-service-level", pct(f.service_level)],
    ["abandonment", "figure-abandonment", pct(f.abandonment_rate)],
    ["aht", "figure-aht", formatWait(f.average_handle_time_s)],
    ["csat", "figure-csat", f.csat == null ? "—" : `${f.csat.toFixed(1)} / 5 (${f.csat_answers})`],
    ["afterCall", "figure-after-call", formatWait(f.average_after_call_s)],
    ["codesUsed", "figure-wrap-up-codes", Object.entries(f.wrap_up_codes ?? {}).map(([code, n]) => `${code}: ${n}`).join(", ") || "—"],
  ];
  $("figures").replaceChildren(...rows.map(([label, id, value]) => {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = label.includes(".") ? t(label, { seconds: f.service_level_s }) : t(`admin.${label}`);
    const dd = document.createElement("dd");
    dd.id = id;
    dd.textContent = value;
    div.append(dt, dd);
    return div;
  }));
}

$("period").addEventListener("change", refreshFigures);
$("figures-template").addEventListener("change", refreshFigures);

$("checkout-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/api/brand/checkout", { method: "PUT", body: { checkout_url: $("checkout-url").value || null }, headers: headers() });
  } catch (error) {
    fail(error);
  }
});

$("template-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const zone = $("t-zone").value.trim();
    const logo = $("t-logo").files[0];
    const created = await api("/api/templates", {
      method: "POST",
      headers: headers(),
      body: {
        name: $("t-name").value, languages: list($("t-languages").value), skills: list($("t-skills").value),
        avatar_id: $("t-avatar").value || null, scene: $("t-scene").value, greeting: $("t-greeting").value,
        brand_color: $("t-color").value,
        hours: zone ? { zone, weekly: parseWeekly($("t-weekly").value) } : null,
        max_customers: Number($("t-capacity").value), max_wait_s: Number($("t-wait").value),
        service_level_s: Number($("t-service-level").value),
        keep_transcripts: Number($("t-days").value) > 0, transcript_days: Number($("t-days").value),
        allow_anonymous: $("t-anonymous").checked,
        retention_days: $("t-retention").value ? Number($("t-retention").value) : null,
        wrap_up_codes: list($("t-wrap-up-codes").value), wrap_up_required: $("t-wrap-up-required").checked,
        after_call_s: Number($("t-after-call").value),
      },
    });
    event.target.reset();
    $("error").textContent = "";
    $("templates-status").textContent = t("admin.templateCreated", { name: created.name });
    if (logo) {
      try {
        await uploadLogo(created.id, logo);
      } catch (error) {
        $("templates-status").textContent = "";
        fail(new Error(t("admin.logoRefused", { name: created.name, message: error.message })));
      }
    }
    await loadTemplates();
  } catch (error) {
    fail(error);
  }
});

// The room's logo goes up on its own (a file, not JSON); the server redraws it as a small PNG.
async function uploadLogo(templateId, file) {
  const form = new FormData();
  form.append("file", file);
  const response = await fetch(`/api/templates/${templateId}/logo`, { method: "PUT", headers: headers(), body: form });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : String(response.status));
  return data;
}

$("operator-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/api/operators", {
      method: "POST",
      headers: headers(),
      body: {
        login: $("o-login").value, name: $("o-name").value, password: $("o-password").value,
        languages: list($("o-languages").value), skills: list($("o-skills").value), role: $("o-role").value,
      },
    });
    event.target.reset();
    await loadOperators();
  } catch (error) {
    fail(error);
  }
});

// How the brand's people sign in: its OpenID provider and rule; the secret is written, never read back.
async function loadSignIn() {
  const settings = await api("/api/brand/sign-in", { headers: headers() });
  $("sso-callback").textContent = new URL(settings.callback_path, location.href).href;
  const o = settings.oidc;
  $("sso-issuer").value = o?.issuer ?? "";
  $("sso-client-id").value = o?.client_id ?? "";
  $("sso-client-secret").value = "";
  $("sso-client-secret").required = !o?.client_secret_set;
  $("sso-domain").value = o?.email_domain ?? "";
  $("sso-group").value = o?.group ?? "";
  $("sso-role-claim").value = o?.role_claim ?? "avatar_care_role";
  $("sso-role-map").value = Object.entries(o?.role_map ?? {}).map(([k, v]) => `${k}=${v}`).join(", ");
  $("sso-passwords-off").checked = !settings.local_passwords;
}

async function saveSignIn(oidc, localPasswords, said) {
  $("sso-status").textContent = "";
  try {
    await api("/api/brand/sign-in", { method: "PUT", headers: headers(), body: { local_passwords: localPasswords, oidc } });
    await loadSignIn();
    $("error").textContent = "";
    $("sso-status").textContent = t(said);
  } catch (error) {
    fail(error);
  }
}

$("sso-settings-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const map = list($("sso-role-map").value).map((pair) => pair.split("=").map((x) => x.trim()));
  if (map.some((pair) => pair.length !== 2 || !pair[0])) {
    fail(new Error(t("admin.ssoRoleMap")));
    return;
  }
  saveSignIn({
    issuer: $("sso-issuer").value.trim(), client_id: $("sso-client-id").value.trim(),
    client_secret: $("sso-client-secret").value || null,
    email_domain: $("sso-domain").value.trim() || null, group: $("sso-group").value.trim() || null,
    role_claim: $("sso-role-claim").value.trim(), role_map: map.length ? Object.fromEntries(map) : null,
  }, !$("sso-passwords-off").checked, "admin.ssoSaved");
});

$("sso-off").addEventListener("click", () => saveSignIn(null, true, "admin.ssoIsOff"));

$("sso-form").addEventListener("submit", (event) => {
  event.preventDefault();
  startSingleSignOn($("sso-brand").value, "admin");
});

applyTranslations();
// Back from the brand's provider: signed in (the same token as a password sign-in) or told why not.
const sso = takeSingleSignOnResult();
if (sso?.token) {
  token = sso.token;
  sessionStorage.setItem(TOKEN, token);
} else if (sso) {
  const show = () => ($("error").textContent = sso.error());
  show();
  onLanguageChange(show);
  $("sso-brand").focus();
}
if (token) open();
