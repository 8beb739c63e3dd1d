// The standalone console of a live room (the demo's operator link): the operator's media only.
import { addressSetting } from "../common/address.js";
import { mountOperatorMedia } from "./operator_media.js";
// The room's operator key comes in the fragment (#key=…), which is never sent to a server; the other
// settings may come in either part of the address.
const setting = addressSetting;
const key = setting("key") ?? "";
let lang = localStorage.getItem("avatarCare.lang") ?? (navigator.language?.toLowerCase().startsWith("it") ? "it" : "en");
const select = document.getElementById("language");
const render = () => {
  document.documentElement.lang = lang;
  document.getElementById("language-label").textContent = lang === "it" ? "Lingua " : "Language ";
  select.value = lang;
};
render();
const media = await mountOperatorMedia(document.getElementById("operator-media"), {
  roomId: setting("room") ?? "demo",
  operatorKey: key,
  mode: setting("mode") === "server" ? "server" : "edge",
  lang,
});
select.addEventListener("change", () => {
  lang = select.value;
  localStorage.setItem("avatarCare.lang", lang);
  render();
  media.setLanguage(lang);
});
