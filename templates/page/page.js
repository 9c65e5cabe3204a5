// The live page of an mgr manager: fetches state.json every second (the body's data-refresh-ms) and updates the
// tables in place. The token comes from the URL's fragment (#token=…, never sent to a
// server or written in its logs) and goes with each request as a bearer token; it is
// kept in sessionStorage so that a reload keeps working. Data is only ever set as
// text (textContent), never as HTML.
"use strict";

(function () {
  const params = new URLSearchParams(location.hash.slice(1));
  let token = params.get("token");
  if (token) {
    sessionStorage.setItem("mgr-token", token);
    history.replaceState(null, "", location.pathname); // out of the address bar
  } else {
    token = sessionStorage.getItem("mgr-token") || "";
  }

  const status = document.getElementById("status");
  let last = null; // the previous state, for rates

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  // fill replaces the rows of table id's body with one row per item, made by row.
  function fill(id, items, row) {
    const body = document.querySelector("#" + id + " tbody");
    const rows = document.createDocumentFragment();
    for (const it of items) {
      const tr = document.createElement("tr");
      row(tr, it);
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
  }

  function since(t, now) {
    if (!t || t.startsWith("0001-")) return "";
    const ms = now - Date.parse(t);
    return ms >= 0 ? " for " + (ms / 1000).toFixed(1) + "s" : "";
  }

  // party describes a holder or waiter: "session 3 (pid 1234) acquire for 2.1s".
  function party(p, now, cls) {
    const span = document.createElement("div");
    span.className = "party " + cls;
    let s = "session " + p.Session;
    if (p.PID) s += " (pid " + p.PID + ")";
    if (p.Op && p.Op !== "holds") s += " " + p.Op;
    if (p.Count > 1) s += " ×" + p.Count;
    span.textContent = s + since(p.Since, now);
    return span;
  }

  function render(st) {
    const now = Date.parse(st.Time);
    document.getElementById("address").textContent = st.Address;
    document.getElementById("session-count").textContent = "(" + st.Sessions.length + ")";
    fill("sessions", st.Sessions, (tr, s) => {
      cell(tr, s.ID);
      cell(tr, s.PID);
      cell(tr, s.Program);
      cell(tr, s.Remote);
      cell(tr, s.Refs, "num");
    });
    document.getElementById("object-count").textContent = "(" + st.Objects.length + ")";
    fill("objects", st.Objects, (tr, o) => {
      cell(tr, "#" + o.ID);
      cell(tr, o.TypeID);
      cell(tr, o.Name || "");
      cell(tr, o.Refs, "num");
      const state = o.State || {};
      cell(tr, (state.Fields || []).map(f => f.Name + "=" + f.Value).join(" "));
      const held = cell(tr, "");
      for (const p of state.Holders || []) held.appendChild(party(p, now, "holder"));
      const waiting = cell(tr, "");
      for (const p of state.Waiters || []) waiting.appendChild(party(p, now, "waiter"));
      if (state.WaitersCut) waiting.appendChild(document.createTextNode("and " + state.WaitersCut + " more"));
    });
    const more = document.getElementById("objects-more");
    more.hidden = !st.MoreObjects;
    more.textContent = st.MoreObjects ? "Only the first " + st.Objects.length + " objects are shown." : "";

    document.getElementById("methods-off").hidden = st.Methods !== null;
    const prev = new Map();
    if (last && last.Methods) for (const m of last.Methods) prev.set(m.TypeID + "." + m.Method, m);
    const dt = last ? (now - Date.parse(last.Time)) / 1000 : 0;
    fill("methods", st.Methods || [], (tr, m) => {
      const p = prev.get(m.TypeID + "." + m.Method);
      const calls = p ? m.Calls - p.Calls : 0;
      const nanos = p ? m.Nanos - p.Nanos : 0;
      cell(tr, m.TypeID);
      cell(tr, m.Method);
      cell(tr, m.Calls, "num");
      cell(tr, m.Running, "num");
      cell(tr, dt > 0 ? (calls / dt).toFixed(1) : "…", "num");
      const mean = calls > 0 ? nanos / calls : (m.Calls > 0 ? m.Nanos / m.Calls : 0);
      cell(tr, mean >= 1e6 ? (mean / 1e6).toFixed(2) + " ms" : (mean / 1e3).toFixed(1) + " µs", "num");
      cell(tr, m.Errors, "num");
    });
    last = st;
    status.className = "status";
    status.textContent = "updated " + new Date(now).toLocaleTimeString();
  }

  async function refresh() {
    try {
      const r = await fetch("state.json", { headers: { "Authorization": "Bearer " + token }, cache: "no-store" });
      if (!r.ok) throw new Error((await r.text()).trim() || r.statusText);
      render(await r.json());
    } catch (e) {
      status.className = "status error";
      status.textContent = String(e.message || e);
    }
  }

  refresh();
  setInterval(refresh, Number(document.body.dataset.refreshMs) || 1000);
})();
