/* Agent console: the queue (filters, SLA countdowns) and one ticket (transcript, the bot's sources and draft,
 * internal notes, reply, status, publish as FAQ). Polls, so new tickets and replies appear without reload.
 * Staff tool: English only for now. Ticket text is shown with textContent only. */
(function () {
  "use strict";
  const A = window.Ayuda;
  const h = A.h;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = Math.max(1000, Number(new URLSearchParams(location.search).get("poll") || 5000));
  const STATUSES = ["new", "open", "pending", "resolved", "closed"];
  const me = A.identity.user || "demo.employee@brightwave.example";
  const queueNames = new Map();
  let tickets = [];
  let selected = (location.hash.match(/^#t=(.+)$/) || [])[1] || null;
  let detail = null;
  let busy = false;

  const when = (iso) => A.formatDate(iso, true);
  const statusLabel = { new: "New", open: "Open", pending: "Pending (waiting for employee)", resolved: "Resolved", closed: "Closed" };

  function duration(ms) {
    const m = Math.round(Math.abs(ms) / 60000);
    const d = Math.floor(m / 1440), hh = Math.floor((m % 1440) / 60), mm = m % 60;
    return d ? `${d}d ${hh}h` : hh ? `${hh}h ${String(mm).padStart(2, "0")}m` : `${mm}m`;
  }

  /** The SLA clock that matters now: first response while nobody answered, else resolution. */
  function slaTarget(tk, answered) {
    if (["resolved", "closed"].includes(tk.status)) return null;
    return tk.status === "new" && !answered ? { due: tk.first_response_due, what: "first response" }
      : { due: tk.resolution_due, what: "resolution" };
  }
  function slaBadge(tk, answered) {
    const target = slaTarget(tk, answered);
    if (!target) {
      return h("span", { class: `sla ${tk.sla_breached ? "late" : "ok"}`, text: tk.sla_breached ? "SLA breached" : "SLA met" });
    }
    const el = h("span", { class: "sla", dataset: { due: target.due, what: target.what } });
    tick(el);
    return el;
  }
  function tick(el) {
    const left = new Date(el.dataset.due) - Date.now();
    el.className = "sla " + (left < 0 ? "late" : left < 2 * 3600e3 ? "soon" : "ok");
    el.textContent = left < 0 ? `${el.dataset.what} overdue by ${duration(left)}` : `${el.dataset.what} due in ${duration(left)}`;
    el.title = `${el.dataset.what} due ${when(el.dataset.due)}`;
  }
  setInterval(() => document.querySelectorAll(".sla[data-due]").forEach(tick), 1000);

  function pill(cls, text) { return h("span", { class: `pill ${cls}`, text }); }
  function setStatus(id, text, error) {
    const box = $(id);
    box.className = "status" + (error ? " error" : "");
    box.textContent = text || "";
  }
  function errorText(err) { return err.status === 0 ? "The server can't be reached; retrying…" : err.message; }

  async function downloadAttachment(ticketId, file) {
    try {  // fetched with the agent's identity, then saved (never opened in the page)
      const res = await A.api(`/api/v1/agent/tickets/${encodeURIComponent(ticketId)}/attachments/${encodeURIComponent(file.id)}`, { raw: true });
      const a = h("a", { href: URL.createObjectURL(await res.blob()), download: file.filename });
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    } catch (err) { pane.error.textContent = `Download failed: ${errorText(err)}`; pane.error.hidden = false; }
  }

  const CHANNELS = { web: "Web chat", slack: "Slack", email: "E-mail" };
  const channelLabel = (c) => CHANNELS[c || "web"] || c;

  // --- queue ---------------------------------------------------------------------------------------
  function filters() {
    const q = new URLSearchParams();
    for (const [name, id] of [["queue", "f-queue"], ["status", "f-status"], ["priority", "f-priority"], ["sla_breached", "f-sla"]]) {
      if ($(id).value) q.set(name, $(id).value);
    }
    return q.toString();
  }

  async function loadQueue() {
    try {
      const qs = filters();
      tickets = await A.api("/api/v1/agent/tickets" + (qs ? "?" + qs : ""));
      setStatus("queue-status", "");
      renderQueue();
    } catch (err) {
      setStatus("queue-status", err.status === 403 ? `${err.message}. Use “Change” above to set your agent groups.` : errorText(err), true);
    }
  }

  function renderQueue() {
    const list = A.clear($("ticket-list"));
    $("queue-count").textContent = `${tickets.length} ticket${tickets.length === 1 ? "" : "s"}`;
    if (!tickets.length) list.appendChild(h("li", { class: "muted", text: "No tickets match these filters." }));
    for (const tk of tickets) {
      list.appendChild(h("li", {}, h("button", {
        type: "button", class: "ticket-row", "aria-current": String(tk.id === selected), dataset: { id: tk.id },
        onclick: () => select(tk.id) },
        h("span", {}, h("span", { class: "num", text: tk.number }), " ", pill(`status-${tk.status}`, tk.status),
          " ", tk.priority !== "normal" ? pill(`prio-${tk.priority}`, tk.priority) : null,
          tk.confidential ? pill("confidential", "confidential") : null),
        slaBadge(tk, false),
        h("span", { class: "subject", text: tk.subject }),
        h("span", { class: "meta" }, h("span", { text: queueNames.get(tk.queue) || tk.queue }),
          h("span", { class: "channel", text: channelLabel(tk.channel) }), h("span", { text: tk.requester }), h("span", { text: tk.assignee ? `→ ${tk.assignee}` : "unassigned" }),
          h("span", { text: when(tk.created_at) })))));
    }
  }

  // --- one ticket ----------------------------------------------------------------------------------
  const pane = {
    top: h("div"), actions: h("div", { class: "actions" }), faq: h("div"), grid: h("div", { class: "pane-grid" }),
    error: h("p", { class: "status error", role: "alert", hidden: true }),
    text: h("textarea", { id: "compose", "aria-label": "Reply to the employee, or an internal note", maxlength: "8000",
                          placeholder: "Write a reply to the employee, or an internal note for the team…" }),
  };
  pane.compose = h("form", { class: "compose", onsubmit: (e) => e.preventDefault() },
    h("label", { for: "compose", class: "sr-only", text: "Reply or note" }), pane.text,
    h("div", { class: "compose-actions" },
      h("button", { type: "button", class: "btn", id: "send-reply", onclick: () => post("reply") }, "Send reply to employee"),
      h("button", { type: "button", class: "btn btn-secondary", id: "add-note", onclick: () => post("note") }, "Add internal note")));

  async function select(id) {
    if (id !== selected) { pane.text.value = ""; A.clear(pane.faq); }
    selected = id;
    history.replaceState(null, "", `${location.pathname}${location.search}#t=${encodeURIComponent(id)}`);
    for (const row of document.querySelectorAll(".ticket-row")) row.setAttribute("aria-current", String(row.dataset.id === id));
    await loadTicket(true);
    const heading = $("ticket").querySelector("h2");
    if (heading) heading.focus();
  }

  async function loadTicket(force) {
    if (!selected || busy) return;
    try {
      const next = await A.api(`/api/v1/agent/tickets/${encodeURIComponent(selected)}`);
      if (!force && detail && detail.id === next.id && detail.updated_at === next.updated_at) return;
      detail = next;
      renderTicket();
    } catch (err) {
      if (err.status === 404) { selected = null; detail = null; A.clear($("ticket")).appendChild(h("p", { class: "muted empty-pane", text: "This ticket is not in your queues." })); }
      else showError(err);
    }
  }

  function showError(err) { pane.error.hidden = false; pane.error.textContent = errorText(err); }

  function renderTicket() {
    const tk = detail;
    const root = $("ticket");
    if (!root.contains(pane.compose)) {
      A.fill(root, pane.top, pane.actions, pane.error, pane.faq, pane.grid, pane.compose);
    }
    pane.error.hidden = true;
    const answered = tk.events.some((e) => e.kind === "agent_reply");
    A.fill(pane.top,
      h("div", { class: "ticket-top" }, h("h2", { tabindex: "-1", text: tk.number }), pill(`status-${tk.status}`, statusLabel[tk.status]),
        pill(`prio-${tk.priority}`, tk.priority), tk.confidential ? pill("confidential", "confidential") : null, slaBadge(tk, answered)),
      h("p", { class: "subject-line" }, h("strong", { text: tk.subject })),
      h("dl", { class: "ticket-facts" },
        [["Queue", queueNames.get(tk.queue) || tk.queue], ["Channel", channelLabel(tk.channel)], ["Requester", tk.requester], ["Assignee", tk.assignee || "unassigned"],
         ["Language", tk.language], ["Why escalated", tk.reason.replace(/_/g, " ")],
         ["Bot confidence", tk.confidence === null ? "—" : `${Math.round(tk.confidence * 100)}%`],
         ["First response due", when(tk.first_response_due)], ["Resolution due", when(tk.resolution_due)],
         ["Opened", when(tk.created_at)], ["CSAT", tk.csat_score ? `${tk.csat_score}/5${tk.csat_comment ? ` — “${tk.csat_comment}”` : ""}` : "—"]]
          .map(([k, v]) => h("div", {}, h("dt", { text: k }), h("dd", { text: v })))));

    const statusSelect = h("select", { id: "status-select", "aria-label": "New status" },
      STATUSES.map((s) => h("option", { value: s, selected: s === tk.status ? "selected" : null, text: statusLabel[s] })));
    const canPublish = ["resolved", "closed"].includes(tk.status) && !tk.confidential;
    A.fill(pane.actions,
      tk.assignee === me ? null : h("button", { type: "button", class: "btn btn-secondary", onclick: () => act("assign", {}) }, "Claim"),
      h("label", { for: "status-select", class: "sr-only", text: "Status" }), statusSelect,
      h("button", { type: "button", class: "btn btn-secondary", id: "set-status",
                    onclick: () => statusSelect.value !== tk.status && act("status", { status: statusSelect.value }) }, "Change status"),
      h("button", { type: "button", class: "btn btn-secondary", id: "publish-faq", disabled: !canPublish,
                    title: canPublish ? "Turn the answer into a help-center article (a draft first)" : tk.confidential ? "Confidential tickets can't become articles" : "Resolve the ticket first",
                    onclick: publishFaq }, tk.faq_path ? "Publish as FAQ (again)" : "Publish as FAQ"));

    const transcript = h("ol", { class: "transcript" }, tk.transcript.map((m) => h("li", { class: m.role },
      h("span", { class: "who", text: m.role === "user" ? `Employee · ${when(m.at)}` : `Ayuda · ${m.outcome || ""}` }), m.content)));
    const sources = h("ol", { class: "sources" }, tk.sources.map((s) => h("li", {},
      h("a", { href: A.helpLink(s.doc_id, s.url), target: "_blank", rel: "noopener" }, s.title, s.section && s.section !== s.title ? ` › ${s.section}` : ""),
      h("span", { class: "muted", text: `  score ${Number(s.score).toFixed(3)}` }),
      h("p", { class: "snippet", text: A.plainText(s.snippet) }))));
    const timeline = h("ol", { class: "timeline" }, tk.events.map(renderEvent).filter(Boolean));
    const files = (tk.attachments || []).length ? h("div", { class: "attachments" }, h("h3", { text: "Attachments" }),
      h("ul", {}, tk.attachments.map((f) => h("li", {}, h("button", { type: "button", class: "btn btn-small btn-secondary",
        "aria-label": `Download ${f.filename}`, onclick: () => downloadAttachment(tk.id, f) }, f.filename),
        h("span", { class: "muted", text: `  ${Math.max(1, Math.round(f.size / 1024))} KB` }))))) : null;
    A.fill(pane.grid,
      h("section", { class: "panel-box", "aria-label": "Transcript" }, h("h3", { text: "Transcript" }),
        tk.transcript.length ? transcript : h("p", { class: "muted", text: "No conversation." }), files),
      h("section", { class: "panel-box", "aria-label": "The bot's sources and draft" }, h("h3", { text: "Bot's sources" }),
        tk.sources.length ? sources : h("p", { class: "muted", text: "The bot found no sources." }),
        h("h3", { text: "Bot's draft" }),
        tk.draft ? h("div", {}, h("div", { class: "draft", id: "draft", text: tk.draft }),
          h("button", { type: "button", class: "btn btn-small btn-secondary", id: "use-draft",
                        onclick: () => { pane.text.value = tk.draft; pane.text.focus(); } }, "Start a reply from the draft"))
          : h("p", { class: "muted", text: "No draft." })),
      h("section", { class: "panel-box span-all", "aria-label": "Activity" }, h("h3", { text: "Activity (replies, notes, changes)" }), timeline));
  }

  function renderEvent(e) {
    const by = e.actor === detail.requester ? "Employee" : e.actor;
    const at = when(e.created_at);
    switch (e.kind) {
      case "created": return h("li", { class: "event", text: `Opened by ${by} · ${at}` });
      case "employee_message": return h("li", { class: "employee_message" }, h("span", { class: "who", text: `Employee · ${at}` }), e.body || "");
      case "agent_reply": return h("li", { class: "agent_reply" }, h("span", { class: "who", text: `Reply by ${by} · ${at}` }), e.body || "");
      case "internal_note": return h("li", { class: "internal_note" }, h("span", { class: "who", text: `Internal note by ${by} · ${at} (not shown to the employee)` }), e.body || "");
      case "status_changed": return h("li", { class: "event", text: `${by}: ${e.data.from} → ${e.data.to}${e.body ? ` (${e.body})` : ""} · ${at}` });
      case "assigned": return h("li", { class: "event", text: `Assigned to ${e.data.assignee} by ${by} · ${at}` });
      case "csat": return h("li", { class: "event", text: `Rated ${e.data.score}/5${e.body ? `: “${e.body}”` : ""} · ${at}` });
      case "sla_breached": return h("li", { class: "event", text: `SLA breached (${e.data.which}) · ${at}` });
      case "faq_drafted": return h("li", { class: "event", text: `FAQ draft written by ${by} · ${at}` });
      default: return h("li", { class: "event", text: `${e.kind} · ${by} · ${at}` });
    }
  }

  async function act(action, body) {
    busy = true;
    try {
      detail = await A.api(`/api/v1/agent/tickets/${encodeURIComponent(selected)}/${action}`, { method: "POST", body });
      renderTicket();
      loadQueue();
      return true;
    } catch (err) { showError(err); return false; } finally { busy = false; }
  }

  async function post(kind) {
    const text = pane.text.value.trim();
    if (!text) { pane.text.focus(); return; }
    if (await act(kind, { body: text })) pane.text.value = "";
  }

  async function publishFaq() {
    A.clear(pane.faq);
    try {
      const faq = await A.api(`/api/v1/agent/tickets/${encodeURIComponent(selected)}/publish-faq`, { method: "POST", body: {} });
      const confirm = h("button", { type: "button", class: "btn", onclick: async () => {
        confirm.disabled = true;
        confirm.textContent = "Publishing and re-indexing…";
        try {
          const done = await A.api(`/api/v1/agent/tickets/${encodeURIComponent(selected)}/publish-faq/confirm`, { method: "POST", timeout: 300000 });
          A.clear(pane.faq).appendChild(h("p", { class: "status" }, `Published ${done.path} (index build ${done.build_id}). `,
            h("a", { href: `/help/doc/faq/${encodeURIComponent(done.path.split("/").pop())}`, text: "Open in the help center" })));
        } catch (err) { showError(err); confirm.disabled = false; confirm.textContent = "Confirm and publish"; }
      } }, "Confirm and publish");
      pane.faq.append(h("div", { class: "panel-box" }, h("h3", { text: `FAQ draft: ${faq.path}` }),
        h("pre", { class: "faq-preview", text: faq.content }), confirm));
    } catch (err) { showError(err); }
  }

  // --- start ---------------------------------------------------------------------------------------
  async function start() {
    A.page({ current: "agent", groupsHint: "it-agents, hr-agents, payroll-agents", languages: false });
    const groups = new Set((A.identity.groups || "").split(",").map((g) => g.trim().toLowerCase()).filter(Boolean));
    try {
      for (const q of await A.api("/api/v1/queues")) {
        queueNames.set(q.id, q.name);
        if (groups.has(q.group)) $("f-queue").appendChild(h("option", { value: q.id, text: q.name }));
      }
    } catch (err) { setStatus("queue-status", errorText(err), true); }
    $("filters").addEventListener("change", loadQueue);
    await loadQueue();
    if (selected) loadTicket(true);
    setInterval(() => { if (!document.hidden) { loadQueue(); loadTicket(false); } }, POLL_MS);
  }
  start();
})();
