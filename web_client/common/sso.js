// Single sign-on with the brand's OpenID provider, for the pages people sign in on (admin, operator).
// The server sends the browser to the provider and back to the page with the outcome in the URL's
// fragment (#token=… or #sso_error=…), which never reaches a server or a log; it is read once here
// and removed from the address bar.
import { registerStrings, t } from "./i18n.js";

registerStrings("sso", {
  it: {
    title: "Oppure con l'account della tua azienda", button: "Continua con il single sign-on",
    brand: "Numero del brand (single sign-on)",
    help: "Si apre la pagina di accesso del tuo brand; poi torni qui, con l'accesso già fatto.",
    not_configured: "Questo brand non ha configurato il single sign-on.",
    unreachable: "Il servizio di accesso del brand non risponde. Riprova tra poco.",
    provider: "Il servizio di accesso del brand ha rifiutato o interrotto l'accesso.",
    invalid_token: "La risposta del servizio di accesso non è valida: accesso rifiutato.",
    nonce: "La risposta del servizio di accesso non corrisponde a questa richiesta: accesso rifiutato.",
    browser: "Questo accesso non è stato avviato da questo browser. Ricomincia da qui.",
    expired: "Questo accesso è scaduto o è già stato usato. Ricomincia.",
    email: "Il servizio di accesso non conferma un indirizzo email verificato.",
    domain: "Il tuo indirizzo email non è di un dominio ammesso da questo brand.",
    group: "Non fai parte del gruppo ammesso da questo brand.",
    disabled: "Questo account è disattivato.",
    not_admin: "Questo account non è un amministratore del brand.",
    busy: "L'account non è stato creato: riprova.",
    unknown: "Accesso non riuscito.",
  },
  en: {
    title: "Or with your company's account", button: "Continue with single sign-on",
    brand: "Brand number (single sign-on)",
    help: "Your brand's sign-in page opens; then you come back here, signed in.",
    not_configured: "This brand has not set up single sign-on.",
    unreachable: "The brand's sign-in service does not answer. Try again shortly.",
    provider: "The brand's sign-in service refused or stopped the sign-in.",
    invalid_token: "The sign-in service's answer is not valid: sign-in refused.",
    nonce: "The sign-in service's answer does not match this request: sign-in refused.",
    browser: "This sign-in was not started in this browser. Start again from here.",
    expired: "This sign-in has expired or was already used. Start again.",
    email: "The sign-in service does not confirm a verified email address.",
    domain: "Your email address is not in a domain this brand admits.",
    group: "You are not in the group this brand admits.",
    disabled: "This account is disabled.",
    not_admin: "This account is not one of the brand's administrators.",
    busy: "The account could not be made: try again.",
    unknown: "Sign-in failed.",
  },
});

const REASONS = new Set([
  "not_configured", "unreachable", "provider", "invalid_token", "nonce", "browser", "expired", "email",
  "domain", "group", "disabled", "not_admin", "busy",
]);

// Off to the brand's provider; `page` is where the server sends the browser back ("admin" or "operator").
export function startSingleSignOn(brandId, page) {
  location.assign(`/api/sso/${encodeURIComponent(brandId)}/start?return_to=${encodeURIComponent(page)}`);
}

// {token} or {error: message in the page's language} when the page was opened by a single sign-on, else null.
export function takeSingleSignOnResult() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  const reason = params.get("sso_error");
  if (!token && !reason) return null;
  history.replaceState(null, "", location.pathname + location.search);
  if (token) return { token };
  return { reason, error: () => t(`sso.${REASONS.has(reason) ? reason : "unknown"}`) };
}
