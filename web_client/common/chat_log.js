// A consultation's chat as the pages show it. Messages come two ways: the whole transcript in every
// snapshot of the queue socket (the first one, and again after a reconnect), and each new message
// alone as soon as the server stored it ({type: "chat"}). Both go through here, so each message is
// shown once, in order, whichever way it came first.

// The ids of the messages shown so far.
export class ChatSeen {
  constructor() {
    this.ids = new Set();
  }

  // The messages not shown yet, in the order given; from now on they count as shown.
  fresh(messages) {
    const out = [];
    for (const m of messages) {
      if (this.ids.has(m.id)) continue;
      this.ids.add(m.id);
      out.push(m);
    }
    return out;
  }
}

// A chat log in a <ul>: new lines are appended (never the whole list rebuilt), so a screen reader's
// live region announces each new message once. labelFor(sender) names who wrote a line in the
// page's language; relabel() renames every line after the language changed.
export function mountChatLog(list, labelFor) {
  const seen = new ChatSeen();
  list.setAttribute("aria-live", "polite");
  list.setAttribute("aria-relevant", "additions");
  return {
    element: list,
    add(messages) {
      const fresh = seen.fresh(messages);
      for (const m of fresh) {
        const li = document.createElement("li");
        li.className = m.sender === "operator" ? "from-operator" : "from-customer";
        li.dataset.sender = m.sender;
        const who = document.createElement("strong");
        who.textContent = `${labelFor(m.sender)}: `;
        li.append(who, m.text);
        list.append(li);
      }
      if (fresh.length > 0) list.scrollTop = list.scrollHeight;
    },
    relabel() {
      for (const li of list.children) li.firstElementChild.textContent = `${labelFor(li.dataset.sender)}: `;
    },
  };
}
