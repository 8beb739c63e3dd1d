// The brand admin's avatars: upload one (checked by the server before it is accepted), and the list
// with what each avatar will not do. A humanoid without face morphs is accepted with a warning (its
// mouth and eyes stay still); the page words that warning itself, in the page's language, from the
// expressions the server says are missing.
import { onLanguageChange, registerStrings, t } from "../common/i18n.js";

registerStrings("adminAvatars", {
  it: {
    title: "Avatar", name: "Nome", format: "Formato", notes: "Avvertenze", none: "—",
    upload: "Carica un avatar", file: "File (VRM 0.x/1.0 o GLB)", send: "Carica",
    uploaded: "Avatar «{name}» caricato.", uploading: "Caricamento di «{name}»…",
    refused: "Avatar rifiutato: {problems}",
    stillFace: "Nessuna espressione del viso per {missing}: {effects}. Corpo, braccia, mani e dita si muovono.",
    aa: "la bocca non si muoverà con la voce", blink: "gli occhi non sbatteranno le palpebre",
  },
  en: {
    title: "Avatars", name: "Name", format: "Format", notes: "Warnings", none: "—",
    upload: "Upload an avatar", file: "File (VRM 0.x/1.0 or GLB)", send: "Upload",
    uploaded: "Avatar “{name}” uploaded.", uploading: "Uploading “{name}”…",
    refused: "Avatar refused: {problems}",
    stillFace: "No face morphs for {missing}: {effects}. The body, arms, hands and fingers move.",
    aa: "the mouth will not move with speech", blink: "the eyes will not blink",
  },
});

// The page's words for one avatar's warnings (none: an empty list).
export function avatarWarnings(avatar) {
  const missing = avatar.missing_face_expressions || [];
  if (!missing.length) return [];
  return [t("adminAvatars.stillFace", { missing: missing.join(", "), effects: missing.map((e) => t(`adminAvatars.${e}`)).join("; ") })];
}

// Wires the avatars section. `headers()` gives the signed-in admin's headers, `fail(error)` shows
// an error, `onList(avatars)` hears every fresh list (the room form's avatar choice).
export function mountAvatars({ headers, fail, onList }) {
  const $ = (id) => document.getElementById(id);
  let avatars = [];
  let status = null; // the last upload's outcome, kept to be worded again when the language changes

  function renderStatus() {
    const box = $("avatar-status");
    box.replaceChildren();
    if (!status) return;
    const line = document.createElement("p");
    line.textContent = status.uploading ? t("adminAvatars.uploading", { name: status.name }) : t("adminAvatars.uploaded", { name: status.name });
    box.append(line);
    for (const text of status.avatar ? avatarWarnings(status.avatar) : []) {
      const warning = document.createElement("p");
      warning.className = "warning";
      warning.textContent = text;
      box.append(warning);
    }
  }

  function renderList() {
    $("avatar-rows").replaceChildren(...avatars.map((a) => {
      const tr = document.createElement("tr");
      tr.dataset.avatarId = a.id;
      const warnings = avatarWarnings(a);
      for (const text of [a.name, a.format]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      const notes = document.createElement("td");
      notes.className = warnings.length ? "warning" : "";
      notes.textContent = warnings.length ? warnings.join(" ") : t("adminAvatars.none");
      tr.append(notes);
      return tr;
    }));
  }

  async function load() {
    try {
      const response = await fetch("/api/avatars", { headers: headers() });
      avatars = response.ok ? await response.json() : [];
    } catch {
      avatars = []; // the rest of the page still opens; the next load tries again
    }
    renderList();
    onList(avatars);
  }

  $("avatar-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData();
    const name = $("a-name").value;
    form.append("name", name);
    form.append("file", $("a-file").files[0]);
    status = { name, uploading: true };
    renderStatus();
    try {
      // Not the JSON helper: the file goes as multipart form data.
      const response = await fetch("/api/avatars", { method: "POST", headers: headers(), body: form });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const problems = body.detail?.problems?.join("; ") ?? (typeof body.detail === "string" ? body.detail : String(response.status));
        throw new Error(t("adminAvatars.refused", { problems }));
      }
      status = { name: body.name, avatar: body };
      renderStatus();
      event.target.reset();
      await load();
    } catch (error) {
      status = null;
      renderStatus();
      fail(error);
    }
  });

  onLanguageChange(() => {
    renderStatus();
    renderList();
  });
  // Signed out: nothing of this account's avatars stays on the page.
  function clear() {
    avatars = [];
    status = null;
    renderStatus();
    renderList();
  }

  return { load, clear };
}
