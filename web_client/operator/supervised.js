// What the operator is told of a supervisor they hear: one whispering to them (the customer does
// not hear it) or one who joined the conversation (the customer does, and is told). One live
// region for the console, changed only when what it says changes, so a screen reader says it once.
import { registerStrings, t } from "../common/i18n.js";

registerStrings("supervised", {
  it: {
    whisperer: "{customer}: un responsabile ti sta suggerendo; il cliente non lo sente.",
    barger: "{customer}: un responsabile è intervenuto nella conversazione; il cliente lo sente ed è avvisato.",
  },
  en: {
    whisperer: "{customer}: a supervisor is whispering to you; the customer does not hear them.",
    barger: "{customer}: a supervisor has joined the conversation; the customer hears them and is told.",
  },
});

/** @param {HTMLElement} region @param {{customer_name: string|null, supervision?: string[]}[]} sessions */
export function renderSupervisedNote(region, sessions) {
  const text = sessions
    .flatMap((s) => (s.supervision ?? []).map((mode) => t(`supervised.${mode}`, { customer: s.customer_name || "—" })))
    .join(" ");
  if (region.textContent !== text) region.textContent = text;
}
