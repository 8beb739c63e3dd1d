// A consultation's recording as its operator sees it: the room's mode, the customer's answer, and
// pause / resume (a customer about to read out card details).
import { api, registerStrings, t } from "../common/i18n.js";

registerStrings("opRecording", {
  it: {
    off: "Registrazione: non prevista in questa stanza.",
    asked: "Registrazione: il cliente non ha ancora risposto.",
    declined: "Registrazione: il cliente ha rifiutato, nulla viene registrato.",
    given: "Registrazione: il cliente ha acconsentito.",
    always: "Registrazione: sempre attiva, il cliente è stato avvisato.",
    recording: "In registrazione.", paused: "In pausa.", notRunning: "Non in registrazione.",
    pause: "Metti in pausa la registrazione", resume: "Riprendi la registrazione",
  },
  en: {
    off: "Recording: not in this room.",
    asked: "Recording: the customer has not answered yet.",
    declined: "Recording: the customer declined, nothing is recorded.",
    given: "Recording: the customer consented.",
    always: "Recording: always on, the customer was told.",
    recording: "Recording.", paused: "Paused.", notRunning: "Not recording.",
    pause: "Pause recording", resume: "Resume recording",
  },
});

// `s`: a session of the queue panel (its `recording`); returns the element to put in its box.
export function recordingLine(s, auth, fail) {
  const r = s.recording ?? { mode: "off" };
  const line = document.createElement("p");
  const status = document.createElement("span");
  status.id = `recording-${s.session_id}`;
  status.setAttribute("role", "status");
  let text;
  if (r.mode === "off") text = t("opRecording.off");
  else if (r.mode === "always") text = t("opRecording.always");
  else if (r.consent == null) text = t("opRecording.asked");
  else text = t(r.consent === "given" ? "opRecording.given" : "opRecording.declined");
  if (r.mode !== "off") text += ` ${t(r.recording ? (r.paused ? "opRecording.paused" : "opRecording.recording") : "opRecording.notRunning")}`;
  status.textContent = text;
  line.append(status);
  if (r.recording) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.id = `recording-toggle-${s.session_id}`;
    b.textContent = t(r.paused ? "opRecording.resume" : "opRecording.pause");
    b.setAttribute("aria-pressed", String(Boolean(r.paused)));
    b.addEventListener("click", async () => {
      try {
        await api(`/api/sessions/${s.session_id}/recording/${r.paused ? "resume" : "pause"}`, { method: "POST", headers: auth() });
      } catch (error) {
        fail(error);
      }
    });
    line.append(" ", b);
  }
  return line;
}
