// The standalone console of a live room (the demo's operator link): the operator's media only.
import { mountOperatorMedia } from "./operator_media.js";
const params = new URLSearchParams(location.search);
// The room's operator key comes in the fragment (#key=…), which is never sent to a server.
const key = new URLSearchParams(location.hash.slice(1)).get("key") ?? params.get("key") ?? "";
let lang = localStorage.getItem("avatarCare.lang") ?? (navigator.language?.toLowerCase().startsWith("it") ? "it" : "en");
const select = document.getElementById("language");
const render = () => {
  document.documentElement.lang = lang;
  document.getElementById("language-label").textContent = lang === "it" ? "Lingua " : "Language ";
  select.value = lang;
};
render();
const media = await mountOperatorMedia(document.getElementById("operator-media"), {
  roomId: params.get("room") ?? "demo",
  operatorKey: key,
  mode: params.get("mode") === "server" ? "server" : "edge",
  lang,
});
select.addEventListener("change", () => {
  lang = select.value;
  localStorage.setItem("avatarCare.lang", lang);
  render();
  media.setLanguage(lang);
});
