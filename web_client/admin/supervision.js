// The brand's choice of whether its customers are told that a supervisor listens in (they are
// always told of one who joins the conversation, never of one who whispers to the operator).
import { api, registerStrings } from "../common/i18n.js";

registerStrings("adminSupervision", {
  it: {
    announce: "Avvisa i clienti quando un responsabile ascolta la consulenza",
    help: "Il cliente è sempre avvisato quando un responsabile interviene nella conversazione, mai quando suggerisce all'operatore.",
  },
  en: {
    announce: "Tell customers when a supervisor listens to the consultation",
    help: "Customers are always told when a supervisor joins the conversation, never when one whispers to the operator.",
  },
});

/**
 * @param {{listening_announced: boolean}} brand what GET /api/brand said
 * @param {() => object} headers the admin's credentials
 * @param {(error: Error) => void} fail
 */
export function mountSupervisionSetting(brand, headers, fail) {
  const box = document.getElementById("listening-announced");
  box.checked = Boolean(brand.listening_announced);
  box.onchange = async () => {
    try {
      const out = await api("/api/brand/listening", { method: "PUT", body: { listening_announced: box.checked }, headers: headers() });
      box.checked = out.listening_announced;
    } catch (error) {
      box.checked = !box.checked; // as stored
      fail(error);
    }
  };
}
