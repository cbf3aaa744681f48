// The "Upstream health" card: each upstream's circuit breaker (closed, open, half-open),
// failure rate, retry-budget use and cache counts, from /api/upstreams/, refreshed every
// second. Built with textContent only, like the rest of the page.
"use strict";

(function () {
  const url = document.body.dataset.policiesUrl;
  const list = document.getElementById("breakers");
  if (!url || !list) return;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  const percent = (share) => `${Math.round(share * 100)} %`;

  function describe(name, policies) {
    const breaker = policies.breaker;
    const state = breaker ? breaker.state : "none";
    const label = { closed: "closed", open: "open", half_open: "half-open", none: "no breaker" }[state];
    const facts = [];
    if (breaker) {
      facts.push(`${percent(breaker.failure_rate)} of ${breaker.calls} calls failed`);
      if (state === "open") facts.push(`probe in ${breaker.retry_in.toFixed(1)} s`);
    }
    const budget = policies.retry_budget;
    if (budget) facts.push(`retries ${budget.retries} of ${Math.floor(budget.allowed)} allowed`
      + (budget.refused ? `, ${budget.refused} refused` : ""));
    const cache = policies.cache;
    if (cache) facts.push(`cache ${cache.hits} hits, ${cache.stale} stale`);
    if (policies.p95_ms !== null) facts.push(`p95 ${Math.round(policies.p95_ms)} ms`);
    return el("li", { "data-upstream": name, "data-breaker": state },
      el("strong", null, name), el("span", { class: "chip" }, label),
      el("span", { class: "facts" }, facts.join(" · ")));
  }

  async function refresh() {
    if (document.hidden) return;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const report = await response.json();
      const items = Object.entries(report.upstreams).map(([name, p]) => describe(name, p));
      list.replaceChildren(...items);
    } catch (error) {
      // The next tick tries again; a restarting server is not worth a message.
    }
  }

  refresh();
  setInterval(refresh, 1000);
})();
