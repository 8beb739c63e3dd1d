// The brand admin's catalogue: the products operators show in consultations (a picture or a 3D
// model, with the shop's link and a price), added, changed and removed here. One form adds a
// product or, after "Edit", changes that one; every row's buttons name their product for a screen
// reader, and the outcome is said in a status region.
import { api, onLanguageChange, registerStrings, t } from "../common/i18n.js";

registerStrings("catalogue", {
  it: {
    title: "Catalogo", name: "Nome", kind: "Tipo", image: "Immagine", model: "Modello 3D", price: "Prezzo",
    link: "Link al negozio", media: "Indirizzo dell'immagine o del modello", actions: "Azioni",
    add: "Aggiungi un prodotto", editing: "Modifica di «{name}»", create: "Aggiungi", save: "Salva le modifiche",
    cancel: "Annulla", edit: "Modifica", remove: "Elimina", editOf: "Modifica {name}", removeOf: "Elimina {name}",
    added: "Prodotto «{name}» aggiunto.", saved: "Prodotto «{name}» salvato.", removed: "Prodotto «{name}» eliminato.",
    confirmRemove: "Eliminare «{name}» dal catalogo e dai carrelli?", empty: "Nessun prodotto in catalogo.",
  },
  en: {
    title: "Catalogue", name: "Name", kind: "Kind", image: "Picture", model: "3D model", price: "Price",
    link: "Link to the shop", media: "Address of the picture or model", actions: "Actions",
    add: "Add a product", editing: "Editing “{name}”", create: "Add", save: "Save changes",
    cancel: "Cancel", edit: "Edit", remove: "Delete", editOf: "Edit {name}", removeOf: "Delete {name}",
    added: "Product “{name}” added.", saved: "Product “{name}” saved.", removed: "Product “{name}” deleted.",
    confirmRemove: "Delete “{name}” from the catalogue and from carts?", empty: "No products in the catalogue.",
  },
});

// Wires the catalogue section. `headers()` gives the signed-in admin's headers, `fail(error)` shows an error.
export function mountCatalogue({ headers, fail }) {
  const $ = (id) => document.getElementById(id);
  let items = [];
  let editing = null; // the product the form changes, or null: the form adds one
  let said = null; // the last outcome, worded again when the language changes: [key, name]

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function button(label, aria, onClick, secondary = true) {
    const b = document.createElement("button");
    b.type = "button";
    if (secondary) b.className = "secondary";
    b.textContent = label;
    b.setAttribute("aria-label", aria);
    b.addEventListener("click", onClick);
    return b;
  }

  function renderRows() {
    $("catalogue-rows").replaceChildren(...items.map((item) => {
      const tr = document.createElement("tr");
      tr.dataset.id = item.id;
      const link = document.createElement("a");
      link.href = item.link;
      link.textContent = item.link;
      link.rel = "noopener";
      link.target = "_blank";
      const linkCell = document.createElement("td");
      linkCell.append(link);
      const actions = document.createElement("td");
      actions.className = "row";
      actions.append(
        button(t("catalogue.edit"), t("catalogue.editOf", { name: item.name }), () => startEdit(item)),
        button(t("catalogue.remove"), t("catalogue.removeOf", { name: item.name }), () => remove(item)),
      );
      tr.append(cell(item.name), cell(t(`catalogue.${item.kind}`)), cell(item.price || "—"), linkCell, actions);
      return tr;
    }));
    $("catalogue-empty").hidden = items.length > 0;
  }

  function renderForm() {
    $("catalogue-form-title").textContent = editing ? t("catalogue.editing", { name: editing.name }) : t("catalogue.add");
    $("c-submit").textContent = editing ? t("catalogue.save") : t("catalogue.create");
    $("c-cancel").hidden = !editing;
  }

  function renderStatus() {
    $("catalogue-status").textContent = said ? t(`catalogue.${said[0]}`, { name: said[1] }) : "";
  }

  function startEdit(item) {
    editing = item;
    $("c-name").value = item.name;
    $("c-kind").value = item.kind;
    $("c-media").value = item.media_url;
    $("c-link").value = item.link;
    $("c-price").value = item.price;
    renderForm();
    $("c-name").focus(); // the keyboard's user lands in the form they asked for
  }

  function stopEdit() {
    editing = null;
    $("catalogue-form").reset();
    renderForm();
  }

  async function remove(item) {
    if (!confirm(t("catalogue.confirmRemove", { name: item.name }))) return;
    try {
      await api(`/api/catalogue/${item.id}`, { method: "DELETE", headers: headers() });
      if (editing?.id === item.id) stopEdit();
      said = ["removed", item.name];
      renderStatus();
      await load();
      $("catalogue-title").focus(); // its row (and so the focused button) is gone
    } catch (error) {
      fail(error);
    }
  }

  async function load() {
    items = await api("/api/catalogue", { headers: headers() });
    renderRows();
  }

  $("catalogue-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      name: $("c-name").value.trim(), kind: $("c-kind").value, media_url: $("c-media").value.trim(),
      link: $("c-link").value.trim(), price: $("c-price").value.trim(),
    };
    try {
      const saved = editing
        ? await api(`/api/catalogue/${editing.id}`, { method: "PUT", headers: headers(), body })
        : await api("/api/catalogue", { method: "POST", headers: headers(), body });
      said = [editing ? "saved" : "added", saved.name];
      stopEdit();
      renderStatus();
      $("error").textContent = "";
      await load();
    } catch (error) {
      fail(error);
    }
  });
  $("c-cancel").addEventListener("click", stopEdit);
  onLanguageChange(() => {
    renderRows();
    renderForm();
    renderStatus();
  });
  renderForm();

  return {
    load,
    clear() {
      items = [];
      said = null;
      stopEdit();
      renderRows();
      renderStatus();
    },
  };
}
