// The customer's say on recording: where the room asks, agree or decline (and change one's mind);
// where it always records, a notice. What a recording holds is said in both cases: voices, the
// avatar's motion and the chat, never any video.
import { api, registerStrings, t } from "../common/i18n.js";

registerStrings("recording", {
  it: {
    title: "Registrazione",
    ask: "Possiamo registrare questa consulenza? Verrebbero conservate le voci, i movimenti dell'avatar e la chat, mai un video.",
    agree: "Sì, registrate", decline: "No, non registrate",
    given: "Hai acconsentito: la consulenza viene registrata (voci, movimenti dell'avatar, chat; mai video).",
    withdraw: "Ritira il consenso",
    declined: "Hai rifiutato: nulla viene registrato.",
    always: "Questa consulenza viene registrata: voci, movimenti dell'avatar e chat, mai video.",
    paused: "La registrazione è in pausa.",
  },
  en: {
    title: "Recording",
    ask: "May we record this consultation? The voices, the avatar's motion and the chat would be kept, never any video.",
    agree: "Yes, record", decline: "No, do not record",
    given: "You agreed: this consultation is recorded (voices, the avatar's motion, chat; never video).",
    withdraw: "Withdraw consent",
    declined: "You declined: nothing is recorded.",
    always: "This consultation is recorded: voices, the avatar's motion and chat, never video.",
    paused: "Recording is paused.",
  },
});

// `section`: the page's #recording element; `auth()`: the customer's Authorization header.
export function mountRecordingConsent(section, auth, onError) {
  let state = null;
  section.setAttribute("aria-labelledby", "recording-title");
  const title = document.createElement("h3");
  title.id = "recording-title";
  const text = document.createElement("p");
  text.id = "recording-status";
  text.setAttribute("role", "status");
  text.setAttribute("aria-live", "polite");
  const buttons = document.createElement("p");
  const button = (key, given) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.key = key;
    b.addEventListener("click", () => answer(given));
    return b;
  };
  const agree = button("agree", true);
  const decline = button("decline", false);
  decline.className = "secondary";
  const withdraw = button("withdraw", false);
  withdraw.className = "secondary";
  buttons.append(agree, " ", decline, " ", withdraw);
  section.replaceChildren(title, text, buttons);

  async function answer(given) {
    try {
      const view = await api("/api/customer/recording-consent", { method: "POST", body: { given }, headers: auth() });
      render({ ...state, ...view });
    } catch (error) {
      onError(error);
    }
  }

  function render(next) {
    state = next;
    section.hidden = !state || state.mode === "off";
    if (section.hidden) return;
    title.textContent = t("recording.title");
    for (const b of [agree, decline, withdraw]) b.textContent = t(`recording.${b.dataset.key}`);
    const asking = state.mode === "ask" && state.consent == null;
    agree.hidden = decline.hidden = !asking;
    withdraw.hidden = !(state.mode === "ask" && state.consent === "given");
    let message;
    if (state.mode === "always") message = t("recording.always");
    else if (asking) message = t("recording.ask");
    else message = t(state.consent === "given" ? "recording.given" : "recording.declined");
    if (state.paused) message += ` ${t("recording.paused")}`;
    if (text.textContent !== message) text.textContent = message;
  }

  return { render, relabel: () => state && render(state) };
}
