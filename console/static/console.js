// riskmon console: the live parts of the pages, in plain JavaScript (no build step).
// The feed: an EventSource on /alerts/stream (the browser resumes it with Last-Event-ID after
// a disconnect), new rows on top; acknowledgement forms. The login page: a token passed in
// the URL's fragment (never sent to a server, never in a log) is submitted once.
"use strict";

const TYPES = [
  "riskmon.alert.class_changed", "riskmon.alert.warning", "riskmon.alert.region",
  "riskmon.alert.industry", "riskmon.task.created", "riskmon.task.overdue",
  "riskmon.observation.started", "riskmon.observation.ended",
];

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function word(key) {
  const names = document.getElementById("type-names");
  const found = names && names.content.querySelector(`span[data-key="${CSS.escape(key)}"]`);
  return found ? found.textContent : key;
}

// The fields of a row, as console/present.py computes them for the first rendering.
function rowOf(doc) {
  const data = (doc && typeof doc.data === "object" && doc.data) || {};
  const type = String(doc.type || "");
  const subject = String(doc.subject || "");
  const [kind, code] = subject.includes(":") ? subject.split(":", 2) : ["", ""];
  let summary = "";
  if (type === "riskmon.alert.class_changed") {
    summary = `${data.old_class || "-"} → ${data.new_class || "?"}`;
  } else if (["riskmon.alert.warning", "riskmon.alert.region", "riskmon.alert.industry"].includes(type)) {
    summary = String(data.rule || "");
  } else if (type.startsWith("riskmon.task.")) {
    summary = `${data.trigger || ""} ${data.state || ""}`.trim();
  }
  return {
    id: String(doc.id || ""), type, subject, time: String(doc.time || ""),
    isEnterprise: kind !== "division" && kind !== "industry",
    klass: String(data.new_class || data.risk_class || ""),
    severity: String(data.severity || ""),
    division: String(data.division || (kind === "division" ? code : "")),
    industry: String(data.industry || (kind === "industry" ? code : "")),
    summary,
  };
}

function ackedText(table, ack) {
  const span = el("span", { class: "acked" }, `${table.dataset.tAcked}: `);
  span.append(el("span", { class: "ack-actor" }, ack.actor), " · ", el("time", {}, ack.time));
  if (ack.note) span.append(" · ", el("q", { class: "ack-note" }, ack.note));
  return span;
}

function ackCell(table, r) {
  const td = el("td", { class: "ack" });
  if (table.dataset.canAck === "yes" && r.type.startsWith("riskmon.alert.")) {
    td.append(el("button", { type: "button", class: "ack-button", "data-alert": r.id }, table.dataset.tAck));
  } else if (r.type.startsWith("riskmon.alert.")) {
    td.append(el("span", { class: "open" }, table.dataset.tOpen));
  }
  return td;
}

function addRow(table, doc) {
  const r = rowOf(doc);
  const body = table.tBodies[0];
  if (!r.id || body.querySelector(`tr[data-id="${CSS.escape(r.id)}"]`)) return; // shown already
  if (table.dataset.severity && r.severity !== table.dataset.severity) return;
  if (table.dataset.class && r.klass !== table.dataset.class) return;
  const tr = el("tr", { class: "event new", "data-id": r.id, "data-type": r.type, "data-class": r.klass, "data-severity": r.severity });
  tr.append(el("td", {}, ""));
  tr.firstChild.append(el("time", {}, r.time));
  tr.append(el("td", { class: "etype" }, word(r.type)));
  const subject = el("td");
  if (r.isEnterprise) subject.append(el("a", { href: `/enterprises/${encodeURIComponent(r.subject)}` }, r.subject));
  else subject.textContent = r.subject;
  tr.append(subject, el("td", { class: "klass" }, r.klass));
  tr.append(el("td", { class: `sev sev-${r.severity}` }, r.severity ? word(r.severity) : ""));
  tr.append(el("td", { class: "summary" }, r.summary), ackCell(table, r));
  body.insertBefore(tr, body.firstChild);
}

function startFeed(table) {
  const status = document.getElementById("status");
  const source = new EventSource(table.dataset.stream);
  window.riskmonReceived = []; // ids as they came, before de-duplication (browser tests)
  const onEvent = (e) => {
    try {
      const doc = JSON.parse(e.data);
      window.riskmonReceived.push(String(doc.id || ""));
      addRow(table, doc);
    } catch (err) { console.error(err); }
  };
  for (const t of TYPES) source.addEventListener(t, onEvent);
  source.onmessage = onEvent;
  source.onopen = () => { status.textContent = status.dataset.connected; status.className = "status ok"; };
  source.onerror = () => { status.textContent = status.dataset.reconnecting; status.className = "status down"; };
  window.riskmonFeed = source; // for the browser tests: the connection to close
}

async function sendAck(table, td, alertId, note) {
  const resp = await fetch(`/alerts/${encodeURIComponent(alertId)}/ack`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ note }),
  });
  const doc = await resp.json();
  td.replaceChildren();
  if (resp.ok && doc.ack) td.append(ackedText(table, doc.ack));
  else td.append(el("span", { class: "error" }, doc.error || String(resp.status)));
}

function onAckClick(table, event) {
  const button = event.target.closest("button.ack-button");
  if (!button) return;
  const td = button.parentElement;
  const form = el("form", { class: "ack-form" });
  const note = el("input", { name: "note", maxlength: "500", placeholder: table.dataset.tNote, class: "ack-input" });
  form.append(note, el("button", { type: "submit", class: "ack-confirm" }, table.dataset.tAck));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    sendAck(table, td, button.dataset.alert, note.value);
  });
  td.replaceChildren(form);
  note.focus();
}

function autoLogin(form) {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (!token) return;
  history.replaceState(null, "", location.pathname + location.search); // out of the history
  form.querySelector("#token").value = token;
  form.submit();
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("feed");
  if (table) {
    table.addEventListener("click", (e) => onAckClick(table, e));
    startFeed(table);
  }
  const login = document.getElementById("login-form");
  if (login) autoLogin(login);
});
