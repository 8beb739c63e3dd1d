// The standalone customer page of a live room (the demo room's link): the room, and a language switch.
import { mountCustomerRoom } from "./customer_room.js";

const params = new URLSearchParams(location.search);
let lang = localStorage.getItem("avatarCare.lang") ?? (navigator.language?.toLowerCase().startsWith("it") ? "it" : "en");
const LABEL = { it: "Lingua", en: "Language" };
const select = document.getElementById("language");
function render() {
  document.documentElement.lang = lang;
  document.getElementById("language-label").textContent = `${LABEL[lang]} `;
  select.value = lang;
}
render();
const room = await mountCustomerRoom(document.getElementById("room"), {
  roomId: params.get("room") ?? "demo",
  avatarUrl: params.get("avatar") ?? undefined,
  lang,
});
select.addEventListener("change", () => {
  lang = select.value;
  localStorage.setItem("avatarCare.lang", lang);
  render();
  room.setLanguage(lang);
});
addEventListener("pagehide", () => room.close());
