// The screening page (evsynth screen --serve). Every record field is inserted with
// textContent, never as HTML; query terms are highlighted by splitting text into
// text nodes and <mark> elements.
"use strict";
(function () {
  const base = document.body.dataset.base;
  let state = null;
  let busy = false;
  let chosen = "";
  const $ = (id) => document.getElementById(id);

  function escapeRegExp(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  function highlighted(element, text, terms) {
    element.textContent = "";
    if (!terms.length || !text) { element.textContent = text || ""; return; }
    const sorted = terms.slice().sort((a, b) => b.length - a.length);
    const pattern = new RegExp("(" + sorted.map(t => "\\b" + escapeRegExp(t).replace(/ /g, "\\s+")).join("|") + ")", "gi");
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      if (match.index > last) element.appendChild(document.createTextNode(text.slice(last, match.index)));
      const mark = document.createElement("mark");
      mark.textContent = match[0];
      element.appendChild(mark);
      last = match.index + match[0].length;
    }
    if (last < text.length) element.appendChild(document.createTextNode(text.slice(last)));
  }

  function link(href, label) {
    const a = document.createElement("a");
    a.textContent = label;
    if (/^https:\/\//.test(href)) { a.href = href; a.rel = "noreferrer noopener"; a.target = "_blank"; }
    return a;
  }

  function say(text, kind) {
    const m = $("message");
    m.textContent = text || "";
    m.className = "message" + (kind ? " " + kind : "");
  }

  function render() {
    const p = state.progress;
    $("progress").textContent = `${p.decided} of ${p.total} decided · open: ${p.title_abstract_open} at title/abstract, ${p.full_text_open} at full text`;
    // Where the review stands: the stopping criterion's line and, apart, the heuristic's
    // (which says itself that it is no guarantee); both as text.
    const s = state.stopping;
    $("where").hidden = !s;
    $("stopping").textContent = s ? s.summary : "";
    $("stopping").className = "stopping" + (s ? (s.met ? " met" : " not-met") : "");
    $("heuristic").textContent = s ? s.heuristic : "";
    const r = state.record;
    $("card").hidden = !r;
    $("done").hidden = !!r;
    document.querySelector("[data-action=undo]").disabled = !state.can_undo;
    const list = $("reason-list");
    list.textContent = "";
    state.reasons.forEach((reason, i) => {
      const li = document.createElement("li");
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "radio"; input.name = "reason"; input.value = reason;
      input.checked = reason === chosen;
      input.addEventListener("change", () => { chosen = reason; });
      const key = document.createElement("kbd");
      key.textContent = String((i + 1) % 10);
      label.append(input, key, document.createTextNode(" " + reason));
      li.appendChild(label);
      list.appendChild(li);
    });
    if (!r) { $("reasons").hidden = true; $("allow").hidden = true; return; }
    const full = r.stage === "full text";
    $("reasons").hidden = false;
    $("reasons-legend").textContent = full ? "Exclusion reason (required at full text)" : "Exclusion reason (optional at title/abstract)";
    $("rid").textContent = r.record_id;
    $("stage").textContent = r.stage + (r.decision === "maybe" ? " · marked maybe" : "") + (r.decision === "include" && !full ? "" : "");
    $("source").textContent = "from " + r.source;
    $("flag").hidden = !r.flag;
    $("flag").textContent = r.flag ? `${r.flag.toUpperCase()}: ${r.flag_detail}` + (r.blocked ? " — including it needs a note" : "") : "";
    highlighted($("title"), r.title || "(no title)", state.terms);
    $("authors").textContent = r.authors.join(", ");
    $("journal").textContent = r.journal;
    $("year").textContent = r.year;
    const ids = $("ids");
    ids.textContent = "";
    if (r.pmid) ids.append(link(r.pubmed_url, "PMID " + r.pmid), document.createTextNode(" "));
    if (r.doi) ids.append(link(r.doi_url, "doi " + r.doi));
    const abs = $("abstract");
    abs.textContent = "";
    if (r.abstract) {
      for (const para of r.abstract.split("\n")) {
        const el = document.createElement("p");
        highlighted(el, para, state.terms);
        abs.appendChild(el);
      }
    } else {
      const el = document.createElement("p");
      el.className = "none";
      el.textContent = r.has_record ? "(PubMed has no abstract for this record)" : "(no abstract: the record is not in a finished run under queries/runs)";
      abs.appendChild(el);
    }
    const words = r.mesh.concat(r.keywords);
    highlighted($("mesh"), words.length ? "MeSH / keywords: " + words.join("; ") : "", state.terms);
    $("allow").hidden = true;
  }

  async function call(path, payload) {
    busy = true;
    try {
      const response = await fetch(base + path, payload === undefined ? { cache: "no-store" } : {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
        cache: "no-store", credentials: "same-origin" });
      const data = await response.json();
      if (!response.ok) { say(data.error || ("HTTP " + response.status), "error"); return false; }
      const before = state && state.record ? state.record.record_id : "";
      state = data;
      if (!state.record || state.record.record_id !== before) chosen = "";
      render();
      return true;
    } catch (err) {
      say("not saved: the screening server does not answer (" + err + ")", "error");
      return false;
    } finally { busy = false; }
  }

  async function act(action) {
    if (busy) return;
    const r = state && state.record;
    if (action === "undo") { if (await call("api/undo", {})) say("undone: " + (state.record ? state.record.record_id : ""), "ok"); return; }
    if (!r) return;
    if (action === "skip") { if (await call("api/skip", { record_id: r.record_id })) say("skipped " + r.record_id + " (it comes back at the end)", "ok"); return; }
    if (action === "include" && r.blocked) { $("allow").hidden = false; $("note").focus(); say(`${r.record_id} is flagged ${r.flag}: write why it is included, then “Include anyway”`, "error"); return; }
    if (action === "exclude" && r.stage === "full text" && !chosen) { say("choose an exclusion reason first (keys 1–9, 0): required at full text", "error"); $("reasons").classList.add("need"); return; }
    $("reasons").classList.remove("need");
    const payload = { record_id: r.record_id, decision: action, reason: action === "exclude" ? chosen : "" };
    if (await call("api/decide", payload)) say(`${r.record_id}: ${action}${payload.reason ? " (" + payload.reason + ")" : ""} — saved`, "ok");
  }

  async function includeAnyway() {
    const r = state && state.record;
    if (!r || busy) return;
    const note = $("note").value.trim();
    if (!note) { say("a note is required to include a flagged record", "error"); return; }
    if (await call("api/decide", { record_id: r.record_id, decision: "include", allow_retracted: true, note })) {
      $("note").value = ""; say(`${r.record_id}: include (flagged, with note) — saved`, "ok");
    }
  }

  document.addEventListener("keydown", (event) => {
    const tag = (event.target && event.target.tagName) || "";
    if (tag === "TEXTAREA" || (tag === "INPUT" && event.target.type !== "radio") || event.ctrlKey || event.metaKey || event.altKey) return;
    const keys = { i: "include", e: "exclude", m: "maybe", s: "skip", u: "undo" };
    if (keys[event.key]) { event.preventDefault(); act(keys[event.key]); return; }
    if (/^[0-9]$/.test(event.key) && state) {
      const index = (Number(event.key) + 9) % 10;
      if (index < state.reasons.length) { chosen = state.reasons[index]; render(); say("reason: " + chosen, "ok"); event.preventDefault(); }
    }
  });
  document.querySelectorAll("[data-action]").forEach(b => b.addEventListener("click", () => act(b.dataset.action)));
  $("include-anyway").addEventListener("click", includeAnyway);
  call("api/state");
})();
