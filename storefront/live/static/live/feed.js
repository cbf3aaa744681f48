// The dashboard's live orders feed: the newest orders from /api/orders/recent/, then every
// change as it happens from /api/live/ (Server-Sent Events). EventSource reconnects by itself
// and resumes with Last-Event-ID; when it gives up (the server answered an error while
// restarting), a new one is opened after a pause, resuming with ?last_event_id=. A "reset"
// (missed events left the backlog) reloads the list. Nodes are built with textContent only.
"use strict";

(function () {
  const feed = document.getElementById("live-feed");
  if (!feed) return;
  const list = document.getElementById("live-orders");
  const status = document.getElementById("live-status");
  const liveUrl = feed.dataset.liveUrl;
  const recentUrl = feed.dataset.recentUrl;
  const SHOWN = 8;
  const REOPEN_MS = 2000;
  const euro = new Intl.NumberFormat("en-IE", { style: "currency", currency: "EUR" });
  // One money format for the whole page (dashboard.js uses it too when present).
  const money = window.storefrontMoney || ((amount) => euro.format(Number(amount)));
  let lastEventId = null;
  let source = null;

  function say(text, state) {
    status.textContent = text;
    feed.dataset.state = state;
  }

  function row(order, changed) {
    const li = document.createElement("li");
    li.dataset.orderId = String(order.id);
    li.dataset.status = order.status;
    const name = document.createElement("span");
    const who = order.customer && order.customer.name ? ` · ${order.customer.name}` : "";
    name.textContent = `#${order.id}${who}`;
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = order.status;
    const total = document.createElement("span");
    total.className = "num";
    total.textContent = money(order.total);
    li.append(name, tag, total);
    if (changed) {
      li.classList.add("fresh");
      setTimeout(() => li.classList.remove("fresh"), 2500);
    }
    return li;
  }

  function show(order, changed) {
    const existing = list.querySelector(`li[data-order-id="${Number(order.id)}"]`);
    if (existing) existing.remove();
    list.prepend(row(order, changed));
    while (list.childElementCount > SHOWN) list.lastElementChild.remove();
  }

  async function loadRecent() {
    const response = await fetch(recentUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = await response.json();
    list.replaceChildren();
    for (const order of page.results.slice(0, SHOWN).reverse()) show(order, false);
  }

  function onOrder(message) {
    lastEventId = message.lastEventId || lastEventId;
    show(JSON.parse(message.data), true);
  }

  function open() {
    const url = lastEventId ? `${liveUrl}?last_event_id=${encodeURIComponent(lastEventId)}` : liveUrl;
    source = new EventSource(url);
    source.addEventListener("ready", () => say("Live", "live"));
    for (const kind of ["order.created", "order.status_changed", "order.cancelled"]) {
      source.addEventListener(kind, onOrder);
    }
    source.addEventListener("reset", () => { loadRecent(); });
    source.addEventListener("overflow", () => say("Catching up…", "reconnecting"));
    // The session (or key) was revoked: reconnecting would be refused, so stop here.
    source.addEventListener("revoked", (message) => {
      source.close();
      source = null;
      say(`Stopped: ${JSON.parse(message.data).message} Log in again to resume.`, "connecting");
    });
    source.onerror = () => {
      say("Reconnecting…", "reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(open, REOPEN_MS);
      }
    };
  }

  say("Connecting…", "connecting");
  loadRecent().finally(open);
})();
