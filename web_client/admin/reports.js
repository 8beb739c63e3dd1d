// The brand admin's reports: problem reports as tickets (list, filter, open, answer, close), survey
// answers with their comments, figures per operator and per day, and CSV exports of each. Every
// list is a table with a caption-like heading, buttons named for what they act on, and a status
// line (role=status) that says what happened; an opened ticket takes the focus to its heading.
import { api, formatWait, getLanguage, onLanguageChange, registerStrings, t } from "../common/i18n.js";

registerStrings("reports", {
  it: {
    perOperator: "Per operatore", perDay: "Per giorno", handled: "Gestite", day: "Giorno",
    serviceLevelShort: "Livello di servizio", exportPerOperator: "Esporta per operatore (CSV)",
    exportPerDay: "Esporta per giorno (CSV)", tickets: "Segnalazioni di problemi", status: "Stato",
    anyStatus: "Qualsiasi stato", open: "Aperta", answered: "Con risposta", closed: "Chiusa",
    operator: "Operatore", anyOperator: "Qualsiasi operatore", from: "Dal giorno", to: "Al giorno (incluso)",
    show: "Mostra", exportTickets: "Esporta segnalazioni (CSV)", reported: "Segnalata", customer: "Cliente",
    problem: "Problema", actions: "Azioni", previous: "Precedenti", next: "Successive",
    yourAnswer: "La risposta del brand", sendAnswer: "Invia la risposta", closeTicket: "Chiudi la segnalazione",
    backToList: "Torna all'elenco", surveys: "Risposte ai questionari", withComment: "Solo con un commento",
    exportSurveys: "Esporta risposte (CSV)", when: "Quando", rating: "Voto", comment: "Commento",
    session: "Consulenza", serviceLevelThreshold: "Soglia del livello di servizio (s)",
    serviceLevelHelp: "Il livello di servizio conta i clienti di questa stanza serviti entro questi secondi (più di 0, al massimo 3600).",
    thresholdOf: "Soglia del livello di servizio di {name} (s)", saveThresholdOf: "Salva la soglia di {name}",
    save: "Salva", thresholdSaved: "Soglia di {name}: {seconds} s.",
    openTicket: "Apri la segnalazione {id}", ticketTitle: "Segnalazione {id}", consultation: "Consulenza",
    answer: "Risposta", byWhen: "{who}, {when}", none: "—",
    ticketsShown: "Segnalazioni {first}–{last} di {total}.", noTickets: "Nessuna segnalazione corrisponde.",
    surveysShown: "Risposte {first}–{last} di {total}.", noSurveys: "Nessuna risposta corrisponde.",
    answerSent: "Risposta inviata: la segnalazione {id} ha una risposta.", ticketClosed: "Segnalazione {id} chiusa.",
    isClosed: "Questa segnalazione è chiusa: non si può più rispondere.",
    exporting: "Preparazione di {name}…", exported: "{name} scaricato.", ratingOf: "{n} / 5",
    serviceLevelAt: "Livello di servizio ({seconds} s)", serviceLevelEach: "Livello di servizio (soglia di ogni stanza)",
  },
  en: {
    perOperator: "Per operator", perDay: "Per day", handled: "Handled", day: "Day",
    serviceLevelShort: "Service level", exportPerOperator: "Export per operator (CSV)",
    exportPerDay: "Export per day (CSV)", tickets: "Problem reports", status: "Status",
    anyStatus: "Any status", open: "Open", answered: "Answered", closed: "Closed",
    operator: "Operator", anyOperator: "Any operator", from: "From (day)", to: "To (day, included)",
    show: "Show", exportTickets: "Export problem reports (CSV)", reported: "Reported", customer: "Customer",
    problem: "Problem", actions: "Actions", previous: "Previous", next: "Next",
    yourAnswer: "The brand's answer", sendAnswer: "Send the answer", closeTicket: "Close the ticket",
    backToList: "Back to the list", surveys: "Survey answers", withComment: "Only with a comment",
    exportSurveys: "Export survey answers (CSV)", when: "When", rating: "Rating", comment: "Comment",
    session: "Consultation", serviceLevelThreshold: "Service level threshold (s)",
    serviceLevelHelp: "The service level counts the customers of this room answered within this many seconds (more than 0, at most 3600).",
    thresholdOf: "Service level threshold of {name} (s)", saveThresholdOf: "Save the threshold of {name}",
    save: "Save", thresholdSaved: "Threshold of {name}: {seconds} s.",
    openTicket: "Open problem report {id}", ticketTitle: "Problem report {id}", consultation: "Consultation",
    answer: "Answer", byWhen: "{who}, {when}", none: "—",
    ticketsShown: "Problem reports {first}–{last} of {total}.", noTickets: "No problem report matches.",
    surveysShown: "Answers {first}–{last} of {total}.", noSurveys: "No answer matches.",
    answerSent: "Answer sent: problem report {id} is answered.", ticketClosed: "Problem report {id} closed.",
    isClosed: "This problem report is closed: it can no longer be answered.",
    exporting: "Preparing {name}…", exported: "{name} downloaded.", ratingOf: "{n} / 5",
    serviceLevelAt: "Service level ({seconds} s)", serviceLevelEach: "Service level (each room's threshold)",
  },
});

const PAGE = 20;

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function pct(x) {
  return x == null ? "—" : `${Math.round(x * 100)}%`;
}

function csat(value, answers) {
  return value == null ? "—" : `${value.toFixed(1)} / 5 (${answers})`;
}

// YYYY-MM-DD of a moment, as this browser's clock shows the day
export function localDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

// The instant a local day starts (a date input's value), and the one the day after starts.
function dayStarts(value, daysLater = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + daysLater).toISOString();
}

// Wires the reports. `headers()` gives the signed-in admin's headers; `fail(error)` shows an error.
export function mountReports({ headers, fail }) {
  const $ = (id) => document.getElementById(id);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  let tickets = null;
  let ticketOffset = 0;
  let ticket = null;
  let ticketSaid = null; // the last thing said about the open ticket, worded again on a language change
  let surveys = null;
  let surveyOffset = 0;
  let operatorFigures = null;
  let daily = null;
  let lastFigureData = "";

  const when = (iso) => (iso ? new Date(iso).toLocaleString(getLanguage() === "it" ? "it-IT" : "en-GB", { dateStyle: "short", timeStyle: "short" }) : "—");
  const said = (id, key, params) => ($(id).textContent = key ? t(`reports.${key}`, params) : "");

  // -- the rooms and the people, for the filters --------------------------------------------------
  function fillSelect(select, options) {
    const chosen = select.value;
    const first = select.options[0];
    select.replaceChildren(first, ...options.map(([value, label]) => new Option(label, value)));
    select.value = options.some(([value]) => value === chosen) ? chosen : "";
  }

  function setRooms(templates) {
    for (const id of ["tk-template", "sv-template"]) fillSelect($(id), templates.map((tpl) => [tpl.id, tpl.name]));
  }

  function setPeople(accounts) {
    fillSelect($("tk-operator"), accounts.map((a) => [a.id, `${a.name} (${a.login})`]));
  }

  // -- tickets -------------------------------------------------------------------------------------
  function ticketParams() {
    const params = new URLSearchParams();
    if ($("tk-status").value) params.set("status", $("tk-status").value);
    if ($("tk-template").value) params.set("template_id", $("tk-template").value);
    if ($("tk-operator").value) params.set("operator_id", $("tk-operator").value);
    if ($("tk-from").value) params.set("since", dayStarts($("tk-from").value));
    if ($("tk-to").value) params.set("until", dayStarts($("tk-to").value, 1));
    return params;
  }

  async function loadTickets() {
    const params = ticketParams();
    params.set("limit", String(PAGE));
    params.set("offset", String(ticketOffset));
    try {
      tickets = await api(`/api/tickets?${params}`, { headers: headers() });
      renderTickets();
    } catch (error) {
      fail(error);
    }
  }

  function renderTickets() {
    if (!tickets) return;
    $("ticket-rows").replaceChildren(...tickets.items.map((tk) => {
      const tr = document.createElement("tr");
      tr.dataset.ticketId = String(tk.id);
      const open = document.createElement("button");
      open.type = "button";
      open.className = "secondary";
      open.textContent = t("reports.openTicket", { id: tk.id });
      open.addEventListener("click", () => openTicket(tk.id));
      const action = document.createElement("td");
      action.append(open);
      tr.append(
        cell(when(tk.reported_at)), cell(t(`reports.${tk.status}`)), cell(tk.template_name),
        cell(tk.operator_name || "—"), cell(tk.customer_name || tk.customer_ref), cell(tk.text), action,
      );
      return tr;
    }));
    const { total, offset, items } = tickets;
    said("tickets-status", total ? "ticketsShown" : "noTickets", { first: offset + 1, last: offset + items.length, total });
    $("tickets-previous").disabled = offset === 0;
    $("tickets-next").disabled = offset + items.length >= total;
  }

  async function openTicket(id) {
    try {
      ticket = await api(`/api/tickets/${id}`, { headers: headers() });
      ticketSaid = null;
      $("ticket-answer").value = ticket.answer || "";
      renderTicket();
      $("ticket-detail").hidden = false;
      $("ticket-title").focus();
    } catch (error) {
      fail(error);
    }
  }

  function fact(list, label, value) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  function renderTicket() {
    if (!ticket) return;
    $("ticket-title").textContent = t("reports.ticketTitle", { id: ticket.id });
    const facts = $("ticket-facts");
    facts.replaceChildren();
    fact(facts, t("reports.reported"), when(ticket.reported_at));
    fact(facts, t("reports.status"), t(`reports.${ticket.status}`));
    fact(facts, t("admin.template"), ticket.template_name);
    fact(facts, t("reports.operator"), ticket.operator_name || "—");
    fact(facts, t("reports.customer"), ticket.customer_name ? `${ticket.customer_name} (${ticket.customer_ref})` : ticket.customer_ref);
    fact(facts, t("reports.consultation"), ticket.session_id);
    fact(facts, t("reports.problem"), ticket.text);
    if (ticket.answer) {
      fact(facts, t("reports.answer"), ticket.answer);
      fact(facts, t("reports.answered"), t("reports.byWhen", { who: ticket.answered_by, when: when(ticket.answered_at) }));
    }
    if (ticket.status === "closed") fact(facts, t("reports.closed"), t("reports.byWhen", { who: ticket.closed_by, when: when(ticket.closed_at) }));
    const closed = ticket.status === "closed";
    for (const id of ["ticket-answer", "ticket-send", "ticket-close"]) $(id).disabled = closed;
    if (ticketSaid) said("ticket-status", ticketSaid.key, { id: ticket.id });
    else said("ticket-status", closed ? "isClosed" : null);
  }

  async function actOnTicket(path, body, key) {
    try {
      ticket = await api(`/api/tickets/${ticket.id}/${path}`, { method: "POST", headers: headers(), body });
      ticketSaid = { key };
      renderTicket();
      await loadTickets();
    } catch (error) {
      fail(error);
    }
  }

  $("ticket-answer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    actOnTicket("answer", { text: $("ticket-answer").value }, "answerSent");
  });
  $("ticket-close").addEventListener("click", () => actOnTicket("close", undefined, "ticketClosed"));
  $("ticket-back").addEventListener("click", () => {
    const id = ticket?.id;
    $("ticket-detail").hidden = true;
    ticket = null;
    const row = document.querySelector(`#ticket-rows tr[data-ticket-id="${id}"] button`);
    (row || $("tk-status")).focus();
  });
  $("ticket-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    ticketOffset = 0;
    loadTickets();
  });
  $("tickets-previous").addEventListener("click", () => {
    ticketOffset = Math.max(0, ticketOffset - PAGE);
    loadTickets();
  });
  $("tickets-next").addEventListener("click", () => {
    ticketOffset += PAGE;
    loadTickets();
  });

  // -- survey answers ------------------------------------------------------------------------------
  function surveyParams() {
    const params = new URLSearchParams();
    if ($("sv-template").value) params.set("template_id", $("sv-template").value);
    if ($("sv-with-comment").checked) params.set("with_comment", "true");
    return params;
  }

  async function loadSurveys() {
    const params = surveyParams();
    params.set("limit", String(PAGE));
    params.set("offset", String(surveyOffset));
    try {
      surveys = await api(`/api/surveys?${params}`, { headers: headers() });
      renderSurveys();
    } catch (error) {
      fail(error);
    }
  }

  function renderSurveys() {
    if (!surveys) return;
    $("survey-rows").replaceChildren(...surveys.items.map((a) => {
      const tr = document.createElement("tr");
      tr.append(
        cell(when(a.answered_at)), cell(t("reports.ratingOf", { n: a.csat })), cell(a.comment || "—"),
        cell(a.template_name), cell(a.operator_name || "—"), cell(a.session_id),
      );
      return tr;
    }));
    const { total, offset, items } = surveys;
    said("surveys-status", total ? "surveysShown" : "noSurveys", { first: offset + 1, last: offset + items.length, total });
    $("surveys-previous").disabled = offset === 0;
    $("surveys-next").disabled = offset + items.length >= total;
  }

  $("survey-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    surveyOffset = 0;
    loadSurveys();
  });
  $("surveys-previous").addEventListener("click", () => {
    surveyOffset = Math.max(0, surveyOffset - PAGE);
    loadSurveys();
  });
  $("surveys-next").addEventListener("click", () => {
    surveyOffset += PAGE;
    loadSurveys();
  });

  // -- figures per operator and per day ------------------------------------------------------------
  let figureQuery = null;

  function figureParams() {
    const params = new URLSearchParams({ since: figureQuery.since });
    if (figureQuery.templateId) params.set("template_id", figureQuery.templateId);
    return params;
  }

  function dayParams() {
    const params = new URLSearchParams({ first_day: localDay(new Date(figureQuery.since)), last_day: localDay(new Date()), zone });
    if (figureQuery.templateId) params.set("template_id", figureQuery.templateId);
    return params;
  }

  // Called with the brand figures' period and room each time they refresh (every 2 s). These two
  // tables are fetched again only every 15 s, or at once for another period or room (each request
  // reads every session of the period), and rebuilt only when their numbers changed (a screen
  // reader reading a table is not interrupted).
  let fetchedAt = 0;
  let fetchedFor = "";

  async function refreshFigures(since, templateId) {
    figureQuery = { since, templateId };
    const key = `${since.slice(0, 15)}|${templateId}`; // the period, to the ten minutes
    if (key === fetchedFor && Date.now() - fetchedAt < 15000) return;
    fetchedFor = key;
    fetchedAt = Date.now();
    const [people, days] = await Promise.all([
      api(`/api/figures/operators?${figureParams()}`, { headers: headers() }),
      api(`/api/figures/daily?${dayParams()}`, { headers: headers() }),
    ]);
    const data = JSON.stringify([people.operators, days.days]);
    if (data === lastFigureData) return;
    lastFigureData = data;
    operatorFigures = people.operators;
    daily = days.days;
    renderFigureTables();
  }

  function renderFigureTables() {
    if (operatorFigures) {
      $("operator-figure-rows").replaceChildren(...operatorFigures.map((o) => {
        const tr = document.createElement("tr");
        tr.append(cell(o.name), cell(o.login), cell(String(o.handled)), cell(formatWait(o.average_handle_time_s)), cell(csat(o.csat, o.csat_answers)));
        return tr;
      }));
    }
    if (daily) {
      $("daily-figure-rows").replaceChildren(...daily.map((d) => {
        const tr = document.createElement("tr");
        const [y, m, day] = d.day.split("-").map(Number);
        const label = new Date(y, m - 1, day).toLocaleDateString(getLanguage() === "it" ? "it-IT" : "en-GB", { weekday: "short", day: "numeric", month: "short" });
        tr.append(
          cell(label), cell(String(d.sessions)), cell(String(d.answered)), cell(pct(d.service_level)),
          cell(pct(d.abandonment_rate)), cell(formatWait(d.average_handle_time_s)), cell(csat(d.csat, d.csat_answers)),
        );
        return tr;
      }));
    }
  }

  // -- CSV exports: fetched with the admin's token, then saved under the server's file name ----------
  async function download(path, params, statusId) {
    const base = path.split("/").pop();
    said(statusId, "exporting", { name: base });
    try {
      const response = await fetch(`${path}?${params}`, { headers: headers() });
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail ?? response.status));
      }
      const blob = await response.blob();
      const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || base;
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      said(statusId, "exported", { name });
    } catch (error) {
      said(statusId, null);
      fail(error);
    }
  }

  $("export-tickets").addEventListener("click", () => download("/api/exports/tickets.csv", ticketParams(), "tickets-status"));
  $("export-surveys").addEventListener("click", () => download("/api/exports/surveys.csv", surveyParams(), "surveys-status"));
  $("export-operator-figures").addEventListener("click", () => figureQuery && download("/api/exports/figures-operators.csv", figureParams(), "figures-export-status"));
  $("export-daily-figures").addEventListener("click", () => figureQuery && download("/api/exports/figures-daily.csv", dayParams(), "figures-export-status"));

  onLanguageChange(() => {
    renderTickets();
    renderTicket();
    renderSurveys();
    renderFigureTables();
  });

  async function load() {
    await Promise.all([loadTickets(), loadSurveys()]);
  }

  // Signed out: nothing of the brand's reports stays on the page.
  function clear() {
    tickets = surveys = ticket = operatorFigures = daily = figureQuery = null;
    ticketOffset = surveyOffset = 0;
    lastFigureData = "";
    fetchedFor = "";
    for (const id of ["ticket-rows", "survey-rows", "operator-figure-rows", "daily-figure-rows", "ticket-facts"]) $(id).replaceChildren();
    for (const id of ["tickets-status", "surveys-status", "ticket-status", "figures-export-status", "ticket-title"]) $(id).textContent = "";
    $("ticket-answer").value = "";
    $("ticket-detail").hidden = true;
  }

  return { load, clear, setRooms, setPeople, refreshFigures };
}
