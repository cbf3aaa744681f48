// The live dashboard: panels fill from /api/dashboard/stream/ (one SSE event per
// upstream as it answers), a waterfall of the last request, a sync-vs-async
// comparison and, with the simulator, fault injection. No framework, no build:
// every node is built with textContent, so upstream data can never become markup.
"use strict";

(function () {
  const body = document.body;
  const urls = {
    stream: body.dataset.streamUrl,
    aggregate: body.dataset.aggregateUrl,
    sync: body.dataset.syncUrl,
    async: body.dataset.asyncUrl,
    faults: body.dataset.faultsUrl || null,
  };
  const panels = document.getElementById("panels");
  const runStatus = document.getElementById("run-status");
  let stream = null;
  let run = 0;
  // Money is shown one way across the page ("€18,726.59"): live/feed.js uses this too.
  const euro = new Intl.NumberFormat("en-IE", { style: "currency", currency: "EUR" });
  const money = (amount, currency) => (currency && currency !== "EUR"
    ? new Intl.NumberFormat("en-IE", { style: "currency", currency }) : euro).format(Number(amount));
  window.storefrontMoney = money;

  // --- small DOM helpers -------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const number = new Intl.NumberFormat("en");
  const fmt = (value) => (typeof value === "number" ? number.format(value) : String(value));
  const ms = (value) => `${Math.round(value)} ms`;
  const title = (name) => name.charAt(0).toUpperCase() + name.slice(1).replaceAll("_", " ");

  function stat(label, value, tone) {
    return el("div", { class: "stat" + (tone ? ` ${tone}` : "") },
      el("span", { class: "value" }, value), el("span", { class: "label" }, label));
  }

  // --- panels ------------------------------------------------------------------

  function panelFor(name) {
    let panel = panels.querySelector(`[data-source="${CSS.escape(name)}"]`);
    if (!panel) {
      panel = el("article", { class: "panel", "data-source": name, "data-state": "waiting" },
        el("header", null, el("h2", null, title(name)), el("span", { class: "badge" }, "waiting")),
        el("p", { class: "meta" }),
        el("div", { class: "content" }));
      panels.append(panel);
    }
    return panel;
  }

  function setState(panel, state, badge, meta) {
    panel.dataset.state = state;
    panel.querySelector(".badge").textContent = badge;
    panel.querySelector(".meta").textContent = meta || "";
  }

  function resetPanel(panel) {
    setState(panel, "waiting", "waiting", "");
    panel.querySelector(".content").replaceChildren(
      el("div", { class: "skeleton" }), el("div", { class: "skeleton short" }));
  }

  const renderers = {
    inventory(data) {
      const items = data.items || [];
      const low = items.filter((item) => item.on_hand <= item.reserved || item.on_hand < 10);
      const list = el("ul", { class: "rows" });
      for (const item of items.slice(0, 6)) {
        const short = item.on_hand <= item.reserved || item.on_hand < 10;
        list.append(el("li", short ? { class: "warn" } : null,
          el("span", null, item.name), el("span", { class: "num" }, `${fmt(item.on_hand)} on hand`)));
      }
      return [el("div", { class: "stats" }, stat("SKUs", fmt(items.length)),
        stat("low stock", fmt(low.length), low.length ? "warn" : "")), list];
    },
    notifications(data) {
      const list = el("ul", { class: "rows" });
      for (const item of (data.items || []).slice(0, 4)) {
        list.append(el("li", null, el("span", null, item.message), el("span", { class: "tag" }, item.kind)));
      }
      return [el("div", { class: "stats" }, stat("unread", fmt(data.unread))), list];
    },
    analytics(data) {
      const list = el("ul", { class: "rows" });
      for (const product of (data.top_products || []).slice(0, 4)) {
        list.append(el("li", null, el("span", null, product.name),
          el("span", { class: "num" }, `${fmt(product.units_sold)} sold`)));
      }
      return [el("div", { class: "stats" },
        stat("visitors today", fmt(data.visitors_today)),
        stat("conversion", `${(data.conversion_rate * 100).toFixed(1)} %`),
        stat("revenue today", money(data.revenue_today))), list];
    },
    users(data) {
      return [el("div", { class: "stats" },
        stat("active", fmt(data.active_users)),
        stat("signups today", fmt(data.signups_today)),
        stat("churned this week", fmt(data.churned_this_week)))];
    },
    billing(data) {
      return [el("div", { class: "stats" },
        stat("MRR", money(data.mrr, data.currency)),
        stat("invoices due", fmt(data.invoices_due)),
        stat("failed payments", fmt(data.failed_payments), data.failed_payments ? "warn" : ""))];
    },
  };

  // Any other source (the dashboard may gain some): scalars as stats, lists by size.
  function renderGeneric(data) {
    if (data === null || typeof data !== "object") {
      return [el("div", { class: "stats" }, stat("value", fmt(data)))];
    }
    const stats = el("div", { class: "stats" });
    const rows = el("ul", { class: "rows" });
    for (const [key, value] of Object.entries(data).slice(0, 12)) {
      if (Array.isArray(value)) stats.append(stat(title(key), fmt(value.length)));
      else if (value === null || typeof value !== "object") stats.append(stat(title(key), fmt(value)));
      else rows.append(el("li", null, el("span", null, title(key)), el("span", { class: "num" }, "…")));
    }
    return rows.childElementCount ? [stats, rows] : [stats];
  }

  function fillPanel(name, source) {
    const panel = panelFor(name);
    const timing = `${ms(source.ms)}` + (source.http_status ? ` · HTTP ${source.http_status}` : "")
      + (source.cached && !source.stale ? " · cached" : "") + (source.hedged ? " · hedged" : "");
    const content = panel.querySelector(".content");
    const render = renderers[name] || renderGeneric;
    if (source.status === "ok") {
      setState(panel, "ok", "ok", timing);
      content.replaceChildren(...render(source.data || {}));
      return;
    }
    if (source.stale) {
      // The upstream failed, but its cache answered with the last good value.
      setState(panel, "stale", `stale · ${source.status.replaceAll("_", " ")}`,
        `last good answer shown · ${source.error || source.status}`);
      content.replaceChildren(...render(source.data || {}));
      return;
    }
    const optional = source.required === false;
    setState(panel, optional ? "degraded" : "failed", source.status.replaceAll("_", " "), timing);
    content.replaceChildren(el("p", { class: "problem" },
      `${title(name)} is unavailable: ${source.error || source.status}.`),
      el("p", { class: "hint" }, optional
        ? "It is optional, so the rest of the dashboard still loads."
        : "It is required, so the dashboard request as a whole failed."));
  }

  // --- the stream ----------------------------------------------------------------

  function runDashboard() {
    run += 1;
    const thisRun = run;
    if (stream) stream.close();
    for (const panel of panels.querySelectorAll(".panel")) resetPanel(panel);
    runStatus.textContent = "Streaming…";
    const started = performance.now();
    const landed = new Set();
    const source = new EventSource(urls.stream);
    stream = source;

    source.addEventListener("source", (event) => {
      const result = JSON.parse(event.data);
      landed.add(result.name);
      fillPanel(result.name, result);
    });
    source.addEventListener("summary", (event) => {
      source.close(); // the server is done; without this EventSource would reconnect
      const envelope = JSON.parse(event.data);
      drawWaterfall(envelope);
      const took = Math.round(performance.now() - started);
      runStatus.textContent = `${envelope.complete ? "Complete" : "Partial"} in ${ms(envelope.elapsed_ms)} on the server, ${took} ms here.`;
    });
    source.addEventListener("error", () => {
      source.close();
      if (thisRun !== run) return;
      for (const panel of panels.querySelectorAll('.panel[data-state="waiting"]')) {
        if (panel.dataset.source === "users" || panel.dataset.source === "billing") continue;
        setState(panel, "failed", "interrupted", "the stream ended before this source landed");
      }
      runStatus.textContent = "The stream was interrupted.";
    });

    fetch(urls.aggregate, { headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((envelope) => {
        if (thisRun !== run) return;
        for (const [name, result] of Object.entries(envelope.sources || {})) {
          fillPanel(name, { ...result, data: envelope.data[name] });
        }
      })
      .catch(() => {
        for (const name of ["users", "billing"]) {
          setState(panelFor(name), "failed", "unreachable", "the request did not complete");
        }
      });
  }

  // --- waterfall -------------------------------------------------------------------

  function drawWaterfall(envelope) {
    const container = document.getElementById("waterfall");
    const entries = Object.entries(envelope.sources);
    const span = Math.max(envelope.elapsed_ms,
      ...entries.map(([, s]) => s.started_ms + s.ms), 1);
    const rows = entries.map(([name, s]) => {
      const bar = el("div", {
        class: `bar ${s.status === "ok" ? "ok" : "bad"}`,
        title: `${name}: started at ${ms(s.started_ms)}, took ${ms(s.ms)} (${s.status})`,
      });
      bar.style.left = `${(s.started_ms / span) * 100}%`;
      bar.style.width = `${Math.max((s.ms / span) * 100, 0.5)}%`;
      return el("div", { class: "row", "data-source": name },
        el("span", { class: "name" }, name),
        el("div", { class: "track" }, bar),
        el("span", { class: "num" }, ms(s.ms)));
    });
    const total = el("div", { class: "row total" },
      el("span", { class: "name" }, "total"),
      el("div", { class: "track" }, el("div", { class: "bar total" })),
      el("span", { class: "num" }, ms(envelope.elapsed_ms)));
    total.querySelector(".bar").style.width = `${(envelope.elapsed_ms / span) * 100}%`;
    const axis = el("div", { class: "axis" },
      el("span", null, "0"), el("span", null, ms(span / 2)), el("span", null, ms(span)));
    container.replaceChildren(...rows, total, axis);
    container.dataset.drawn = "true";
  }

  // --- sync vs async -----------------------------------------------------------------

  async function timed(url) {
    const started = performance.now();
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const envelope = await response.json();
    return { server: envelope.elapsed_ms, client: performance.now() - started, complete: envelope.complete };
  }

  async function compare() {
    const button = document.getElementById("compare-run");
    const result = document.getElementById("compare-result");
    button.disabled = true;
    result.dataset.done = "false";
    result.replaceChildren(el("p", { class: "hint" }, "Running both…"));
    try {
      // One after the other, so neither slows the other down.
      const sync = await timed(urls.sync);
      const concurrent = await timed(urls.async);
      const longest = Math.max(sync.client, concurrent.client, 1);
      const line = (label, kind, timing) => {
        const bar = el("div", { class: `bar ${kind}` });
        bar.style.width = `${(timing.client / longest) * 100}%`;
        return el("div", { class: "row", "data-kind": kind },
          el("span", { class: "name" }, label),
          el("div", { class: "track" }, bar),
          el("span", { class: "num" }, ms(timing.server)));
      };
      const speedup = sync.server / Math.max(concurrent.server, 1);
      result.replaceChildren(
        line("sync", "sync", sync), line("async", "async", concurrent),
        el("p", { class: "verdict" }, `Concurrent fan-out: ${speedup.toFixed(1)}× faster on the server.`));
      result.dataset.done = "true";
    } catch (error) {
      result.replaceChildren(el("p", { class: "problem" }, "The comparison could not run."));
    } finally {
      button.disabled = false;
    }
  }

  // --- fault injection ------------------------------------------------------------------

  const FAULT_BODIES = {
    hang: { fault: "hang" },
    slow: { latency_ms: 800 },
    status503: { status: 503 },
    reset: { fault: "reset" },
    invalid_json: { fault: "invalid_json" },
    oversize: { fault: "oversize" },
    slow_body: { fault: "slow_body" },
  };
  const DEFAULTS = { latency_ms: 100, jitter_ms: 0, status: 200, fault: null, rate: 1 };

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showFaults(listing) {
    const list = document.getElementById("fault-list");
    const items = [];
    for (const [service, settings] of Object.entries(listing.services || {})) {
      const changes = Object.keys(DEFAULTS)
        .filter((key) => settings[key] !== DEFAULTS[key])
        .map((key) => `${key}=${settings[key]}`);
      if (changes.length) items.push(el("li", { "data-service": service }, el("strong", null, service), ` ${changes.join(", ")}`));
    }
    list.replaceChildren(...(items.length ? items : [el("li", { class: "hint" }, "No faults: every upstream is healthy.")]));
  }

  async function refreshFaults() {
    const response = await fetch(urls.faults, { headers: { Accept: "application/json" } });
    if (response.ok) showFaults(await response.json());
  }

  async function changeFault(method) {
    const service = document.getElementById("fault-service").value;
    const kind = document.getElementById("fault-kind").value;
    const init = { method, headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } };
    if (method === "PUT") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(FAULT_BODIES[kind]);
    }
    const response = await fetch(`${urls.faults}${encodeURIComponent(service)}`, init);
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      runStatus.textContent = (problem.error && problem.error.message) || `Fault change failed (${response.status}).`;
      return;
    }
    await refreshFaults();
    runDashboard();
  }

  function setUpFaults() {
    if (!urls.faults) return;
    document.getElementById("fault-form").addEventListener("submit", (event) => {
      event.preventDefault();
      changeFault("PUT");
    });
    document.getElementById("fault-clear").addEventListener("click", () => changeFault("DELETE"));
    refreshFaults();
  }

  // With auto-refresh on, the dashboard runs again every 2 s, so that a breaker opening
  // (or closing once the upstream heals) shows without a click.
  const autoRun = document.getElementById("auto-run");
  setInterval(() => {
    if (autoRun && autoRun.checked && !document.hidden) runDashboard();
  }, 2000);

  document.getElementById("run").addEventListener("click", runDashboard);
  document.getElementById("compare-run").addEventListener("click", compare);
  setUpFaults();
  runDashboard();
})();
