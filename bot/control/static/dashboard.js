// hedgebot dashboard: renders the daemon's overview as it is pushed (server-sent events, /events) and sends
// operator commands with a confirmation and a reason. No inline script (the page's CSP forbids it); every
// value from the daemon is written as text (textContent), never as HTML.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const charts = {};
  let updates = 0;
  let pending = null;

  const $ = (id) => document.getElementById(id);
  const text = (id, value) => { const el = $(id); if (el) { el.textContent = value; } };
  const num = (v, digits) => (typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 4 : digits }) : "–");
  const money = (v) => (typeof v === "number" ? v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : "–");
  const pct = (v) => (typeof v === "number" ? (v * 100).toFixed(1) + " %" : "–");
  const when = (ms) => (typeof ms === "number" ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "");

  function rows(tableId, items, cells) {
    const body = $(tableId).tBodies[0];
    const fresh = document.createElement("tbody");
    for (const item of items) {
      const tr = document.createElement("tr");
      for (const value of cells(item)) {
        const td = document.createElement("td");
        td.textContent = value === null || value === undefined ? "" : String(value);
        tr.appendChild(td);
      }
      fresh.appendChild(tr);
    }
    body.replaceWith(fresh);
  }

  function render(view) {
    const s = view.status || {};
    updates += 1;
    document.body.dataset.updates = String(updates);
    document.body.dataset.state = s.state || "";
    document.body.dataset.paused = s.paused ? "yes" : "no";
    const state = $("state");
    state.textContent = (s.state || "?") + (s.paused ? " · paused" : "");
    state.className = "badge " + (s.paused ? "paused" : (s.state || ""));
    text("clock", view.now_text ? view.now_text + " UTC" : "");
    text("state-reason", s.state_reason ? "Reason: " + s.state_reason : "No hold: trading is free to adjust the hedge.");
    rows("holds", s.holds || [], (h) => [h.source, h.state, when(h.since), h.reason]);
    text("ratio", num(s.ratio));
    const o = s.ratio_override;
    text("ratio-override", o ? num(o.ratio) + " until " + when(o.until) + " UTC" : "none");
    text("exposure", money(s.exposure));
    const inst = view.instruments || [];
    const held = inst.reduce((a, i) => a + (i.cover || 0), 0);
    const target = inst.reduce((a, i) => a + (i.target_cover || 0), 0);
    text("cover", pct(held) + " / " + pct(target));
    text("equity", money(s.equity));
    text("margin-ratio", typeof s.margin_ratio === "number" ? num(s.margin_ratio, 2) : "no margin in use");
    const h = s.headroom || {};
    text("leverage", num(h.leverage, 2) + " of max " + num(h.max_leverage, 2));
    text("liquidation", (s.liquidation || []).map((l) => l.text).join("; ") || "–");
    const e = view.effectiveness || {};
    text("variance-reduction", pct(e.variance_reduction));
    text("drawdown-reduction", pct(e.drawdown_reduction));
    text("valuation-count", num(e.points, 0));
    rows("positions", inst, (i) => [i.symbol, num(i.position), money(i.value), num(i.target), money(i.target_value), pct(i.cover), pct(i.target_cover)]);
    rows("decisions", view.decisions || [], (d) => [d.time, d.trigger, d.reason, Object.entries(d.targets || {}).map(([k, v]) => k + " " + num(v)).join(", ")]);
    rows("orders", view.orders || [], (r) => [r.time, r.symbol, r.side, num(r.qty), r.type, r.status, num(r.filled), num(r.avg_price, 2)]);
    rows("fills", view.fills || [], (f) => [f.time, f.symbol, f.side, num(f.qty), num(f.price, 2), num(f.fee, 4)]);
    rows("alerts", view.alerts || [], (a) => [a.time, a.severity, a.text]);
    rows("audit", view.audit || [], (a) => [a.time, a.operator, a.via, a.command, a.args && Object.keys(a.args).length ? JSON.stringify(a.args) : "", a.reason, a.outcome]);
    draw(view.chart || {});
  }

  function chartOptions(el, series) {
    return {
      width: Math.max(320, el.clientWidth - 8),
      height: 240,
      scales: { x: { time: true } },
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),  // operators read UTC everywhere
      series: [{}].concat(series),
      axes: [{ stroke: "#555" }, { stroke: "#555", size: 70 }],
      legend: { live: true },
    };
  }

  function plot(id, series, data) {
    const el = $(id);
    if (!window.uPlot || data[0].length < 2) { return; }
    if (!charts[id]) {
      charts[id] = new window.uPlot(chartOptions(el, series), data, el);
    } else {
      charts[id].setData(data);
    }
    el.dataset.points = String(data[0].length);
  }

  function draw(c) {
    if (!c.t) { return; }
    plot("chart-value", [
      { label: "hedged", stroke: "#1f5fbf", width: 2 },
      { label: "unhedged", stroke: "#c2571a", width: 2 },
    ], [c.t, c.hedged, c.unhedged]);
    plot("chart-ratio", [
      { label: "held", stroke: "#1f5fbf", width: 2 },
      { label: "target", stroke: "#2a9d4a", width: 2, dash: [6, 4] },
    ], [c.t, c.ratio, c.target_ratio]);
  }

  async function send(name, args) {
    const result = $("command-result");
    result.textContent = name + ": sending…";
    try {
      const response = await fetch("/commands/" + encodeURIComponent(name), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(args),
      });
      const body = await response.json();
      result.textContent = body.ok ? name + ": done" : name + " refused: " + body.error;
      result.className = body.ok ? "ok" : "error";
    } catch (err) {
      result.textContent = name + ": no answer (" + err + ")";
      result.className = "error";
    }
  }

  function ask(name) {
    pending = name;
    text("confirm-title", "Confirm " + name);
    const explain = {
      pause: "No new hedge adjustments; working clips are cancelled.",
      resume: "Lift a pause, flatten or kill hold and re-decide now.",
      flatten: "Close every hedge in reduce-only clips, then hold in 'reducing'.",
      "set-ratio": "Override the hedge ratio for a while, then back to the config's.",
      kill: "Cancel every open order and halt trading.",
    };
    text("confirm-text", explain[name] || "");
    $("ratio-fields").hidden = name !== "set-ratio";
    $("confirm-reason").value = "";
    $("confirm").showModal();
  }

  function confirmed() {
    const name = pending;
    pending = null;
    if (!name) { return; }
    const args = { reason: $("confirm-reason").value };
    if (name === "set-ratio") {
      args.ratio = parseFloat($("confirm-ratio").value);
      args.for = $("confirm-for").value;
    }
    send(name, args);
  }

  function connect() {
    const events = new EventSource("/events");
    events.addEventListener("overview", (e) => render(JSON.parse(e.data)));
    events.addEventListener("logout", () => { events.close(); window.location.assign("/login"); });
    events.onerror = () => { text("state", "reconnecting…"); };
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("button.command")) {
      button.addEventListener("click", () => ask(button.dataset.command));
    }
    const dialog = $("confirm");
    dialog.addEventListener("close", () => { if (dialog.returnValue === "ok") { confirmed(); } else { pending = null; } });
    $("logout-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
      window.location.assign("/login");
    });
    connect();
  });
})();
