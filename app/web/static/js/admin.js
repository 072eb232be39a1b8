/* Admin analytics: charts (vendored Chart.js 4, /static/vendor/chart.umd.js), CSV export, content-gap drafts
 * and the re-index button with progress. Data: GET /api/v1/admin/analytics?days=N (admins only).
 * Staff tool: English only for now. Questions and answers are shown with textContent only. */
(function () {
  "use strict";
  const A = window.Ayuda;
  const h = A.h;
  const $ = (id) => document.getElementById(id);
  const Chart = window.Chart;
  const charts = [];
  const COLORS = ["#0b5cad", "#1e7a46", "#c26b00", "#7b4bb7", "#b3261e", "#2a8c9e", "#6b7785", "#8a6d3b", "#4a5d23"];
  const OUTCOME_LABELS = { answered: "Answered", answered_offer_human: "Answered + offered a person", escalated: "Escalated (ticket)",
    declined: "Declined (someone else's private data)", off_topic: "Off-topic (no ticket)",
                           clarify: "Asked to clarify", smalltalk: "Small talk", not_ready: "Not ready (no index)" };
  const JOB_KEY = "ayuda:reindex-job";
  let days = 30;

  if (Chart) {
    Chart.defaults.animation = false;  // steady screenshots, less CPU
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#1c2430";
    Chart.defaults.maintainAspectRatio = false;
  }

  const pct = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 1000) / 10}%`);
  const num = (x) => (x === null || x === undefined ? "—" : String(x));
  function setStatus(text, error) {
    $("status").className = "status" + (error ? " error" : "");
    $("status").textContent = text || "";
  }

  async function downloadCsv(section) {
    try {
      const res = await A.api(`/api/v1/admin/analytics.csv?section=${encodeURIComponent(section)}&days=${days}`, { raw: true });
      const blob = await res.blob();
      const match = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
      const a = h("a", { href: URL.createObjectURL(blob), download: match ? match[1] : `ayuda-${section}-${days}d.csv` });
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    } catch (err) { setStatus(`CSV export failed: ${err.message}`, true); }
  }

  function card(title, opts, ...body) {
    const o = opts || {};
    return h("section", { class: "card" + (o.wide ? " wide" : ""), "aria-labelledby": o.id },
      h("div", { class: "card-head" }, h("h2", { id: o.id, text: title }),
        o.csv ? h("button", { type: "button", class: "btn btn-small btn-secondary", "aria-label": `Export “${title}” as CSV`,
                              onclick: () => downloadCsv(o.csv) }, "CSV") : null),
      body);
  }

  function chartBox(label, config) {
    const canvas = h("canvas", { role: "img", "aria-label": label });
    const box = h("div", { class: "chart-box" }, canvas);
    if (Chart) requestAnimationFrame(() => charts.push(new Chart(canvas, config)));
    else box.appendChild(h("p", { class: "muted", text: "Charts could not be loaded." }));
    return box;
  }

  function kpi(label, value, note) {
    return h("div", { class: "kpi" }, h("div", { class: "label", text: label }), h("div", { class: "value", text: value }),
      note ? h("div", { class: "note", text: note }) : null);
  }

  function table(headers, rows, numeric) {
    return h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((cell, i) => h("td", { class: numeric && numeric.includes(i) ? "num" : null },
        cell instanceof Node ? cell : String(cell))))))));
  }

  function render(data) {
    while (charts.length) charts.pop().destroy();
    const box = A.clear($("dashboard"));
    const perDay = data.conversations_per_day;
    const conversations = perDay.reduce((n, d) => n + d.conversations, 0);
    const questions = perDay.reduce((n, d) => n + d.questions, 0);
    const tickets = data.escalation_by_queue.reduce((n, q) => n + q.tickets, 0);
    const d = data.deflection;
    const bot = data.csat.bot, human = data.csat.human;

    box.appendChild(h("p", { class: "muted", text: `From ${data.period.from} to ${data.period.to} (UTC), ${data.period.days} days.` }));
    box.appendChild(h("div", { class: "kpis", id: "kpis" },
      kpi("Conversations", String(conversations)), kpi("Questions", String(questions)),
      kpi("Answered by the bot", String(d.answered)), kpi("Tickets opened", String(tickets),
        questions ? `${pct(tickets / questions)} of questions` : null),
      kpi("Bot answers 👍", pct(bot.rate), `${bot.helpful} 👍 · ${bot.not_helpful} 👎`),
      kpi("Ticket CSAT", human.average === null ? "—" : `${human.average.toFixed(1)} / 5`, `${human.count} rating${human.count === 1 ? "" : "s"}`)));

    const cards = h("div", { class: "cards" });
    box.appendChild(cards);
    cards.appendChild(card("Conversations per day", { id: "c-days", csv: "conversations_per_day", wide: true },
      chartBox(`Conversations per day: ${conversations} conversations and ${questions} questions in ${perDay.length} days`, {
        type: "bar",
        data: { labels: perDay.map((x) => x.date.slice(5)), datasets: [
          { label: "Conversations", data: perDay.map((x) => x.conversations), backgroundColor: COLORS[0] },
          { label: "Questions", data: perDay.map((x) => x.questions), backgroundColor: "#9cc3ea" }] },
        options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } })));

    const outcomes = Object.entries(data.outcomes);
    cards.appendChild(card("Outcome mix", { id: "c-outcomes", csv: "outcomes" },
      chartBox(`Outcomes: ${outcomes.map(([k, v]) => `${OUTCOME_LABELS[k] || k} ${v}`).join(", ")}`, {
        type: "doughnut",
        data: { labels: outcomes.map(([k]) => OUTCOME_LABELS[k] || k),
                datasets: [{ data: outcomes.map(([, v]) => v), backgroundColor: COLORS }] },
        options: { plugins: { legend: { position: window.innerWidth < 700 ? "bottom" : "right" } } } })));

    const CHANNEL_LABELS = { web: "Web", slack: "Slack", email: "E-mail" };
    cards.appendChild(card("By channel", { id: "c-channels", csv: "channels" },
      (data.channels || []).length
        ? table(["Channel", "Conversations", "Questions", "Answered", "Escalated", "Tickets", "Answered %"],
          data.channels.map((c) => [CHANNEL_LABELS[c.channel] || c.channel, c.conversations, c.questions, c.answered,
            c.escalated, c.tickets, pct(c.answered_share)]), [1, 2, 3, 4, 5, 6])
        : h("p", { class: "muted", text: "No conversations in this period." })));

    cards.appendChild(card("Deflection", { id: "c-deflection" },
      h("div", { class: "kpis three", id: "deflection" }, kpi("Confirmed", String(d.confirmed)), kpi("Durable", String(d.durable)),
        kpi("Unknown", String(d.unknown))),
      h("p", { class: "muted", text: `Of ${d.answered} answers by the bot. Three numbers, never added up into one “deflection rate”:` }),
      h("dl", { class: "defs" }, Object.entries(d.definitions || {}).map(([k, v]) => h("div", {}, h("dt", { text: k + ":" }), h("dd", { text: v }))))));

    cards.appendChild(card("Escalation rate by queue", { id: "c-escalation", csv: "escalation_by_queue" },
      chartBox(`Escalation by queue: ${data.escalation_by_queue.map((q) => `${q.name} ${q.tickets}`).join(", ")}`, {
        type: "bar",
        data: { labels: data.escalation_by_queue.map((q) => q.name),
                datasets: [{ label: "% of questions that became a ticket", backgroundColor: COLORS[2],
                             data: data.escalation_by_queue.map((q) => Math.round(q.share_of_questions * 1000) / 10) }] },
        options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { callback: (v) => v + "%" } } },
                   plugins: { tooltip: { callbacks: { afterLabel: (ctx) => `${data.escalation_by_queue[ctx.dataIndex].tickets} tickets` } } } } })));

    cards.appendChild(card("CSAT: bot vs people", { id: "c-csat" },
      chartBox(`Satisfaction: bot answers ${pct(bot.rate)} helpful; tickets ${human.average === null ? "not rated" : human.average.toFixed(1) + " of 5"}`, {
        type: "bar",
        data: { labels: ["Bot answers (👍 share)", "People on tickets (CSAT ÷ 5)"],
                datasets: [{ label: "Satisfaction %", backgroundColor: [COLORS[0], COLORS[1]],
                             data: [bot.rate === null ? 0 : Math.round(bot.rate * 100),
                                    human.average === null ? 0 : Math.round(human.average / 5 * 100)] }] },
        options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 100, ticks: { callback: (v) => v + "%" } } } } }),
      h("p", { class: "muted", text: `Bot: ${bot.helpful} 👍, ${bot.not_helpful} 👎. People: ${human.count} ratings, average ${human.average === null ? "—" : human.average.toFixed(2)} / 5.` })));

    const sla = data.sla;
    const queueName = new Map(data.escalation_by_queue.map((q) => [q.queue, q.name]));
    const qname = (q) => queueName.get(q) || q;
    const slaSet = (part, what, color, stack) => ({ label: `${part === "first_response" ? "First response" : "Resolution"}: ${what}`,
      data: sla.map((q) => q[part][what]), backgroundColor: color, stack });
    cards.appendChild(card("First response and resolution vs SLA", { id: "c-sla", csv: "sla", wide: true },
      chartBox("Tickets per queue that met, breached, or are still within their SLA, for first response and resolution", {
        type: "bar",
        data: { labels: sla.map((q) => qname(q.queue)), datasets: [
          slaSet("first_response", "met", "#1e7a46", "fr"), slaSet("first_response", "breached", "#b3261e", "fr"),
          slaSet("first_response", "open", "#9aa6b4", "fr"), slaSet("resolution", "met", "#6fbf8e", "res"),
          slaSet("resolution", "breached", "#e48a84", "res"), slaSet("resolution", "open", "#cfd5dd", "res")] },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } } }),
      table(["Queue", "Tickets", "First response met / breached / open", "Median h", "Resolution met / breached / open", "Median h"],
        sla.map((q) => [qname(q.queue), q.tickets, `${q.first_response.met} / ${q.first_response.breached} / ${q.first_response.open}`,
          num(q.first_response.median_hours), `${q.resolution.met} / ${q.resolution.breached} / ${q.resolution.open}`,
          num(q.resolution.median_hours)]), [1, 3, 5])));

    cards.appendChild(card("👎 answers to review", { id: "c-negative", csv: "negative_feedback", wide: true },
      data.negative_feedback.length
        ? table(["When", "Lang", "Question", "Answer", "Comment"], data.negative_feedback.map((f) => [
          A.formatDate(f.created_at, true), f.language, h("div", { class: "clip", text: f.question }),
          h("div", { class: "clip", text: f.answer }), f.comment || "—"]))
        : h("p", { class: "muted", text: "No 👎 in this period." })));

    cards.appendChild(card("Content gaps", { id: "c-gaps", csv: "content_gaps", wide: true },
      data.content_gaps.length
        ? table(["Topic", "Questions", "Languages", "Queue", "Examples", ""], data.content_gaps.map((g) => [
          g.label, g.count, g.languages.join(", "), g.queue || "—",
          h("ul", {}, g.examples.slice(0, 3).map((x) => h("li", { text: x }))), draftButton(g)]), [1])
        : h("p", { class: "muted", text: "No unanswered questions clustered in this period." })));
  }

  function draftButton(gap) {
    const out = h("div", { class: "draft-out", role: "status" });
    const btn = h("button", { type: "button", class: "btn btn-small", onclick: async () => {
      btn.disabled = true;
      try {
        const res = await A.api(`/api/v1/admin/content-gaps/${encodeURIComponent(gap.id)}/draft?days=${days}`, { method: "POST" });
        A.fill(out, h("p", {}, "Draft written to ", h("code", { text: res.path }), ". Edit it, then publish it."),
          h("pre", { text: res.content }));
      } catch (err) {
        A.clear(out).appendChild(h("p", { class: "status error", text: err.message }));
      } finally { btn.disabled = false; }
    } }, "Draft an article");
    return h("div", {}, btn, out);
  }

  async function load() {
    setStatus("Loading…");
    try {
      const data = await A.api(`/api/v1/admin/analytics?days=${days}`, { timeout: 120000 });
      setStatus("");
      $("dashboard").hidden = false;
      render(data);
    } catch (err) {
      $("dashboard").hidden = true;
      setStatus(err.status === 403 ? `${err.message}. Admins only: use “Change” above and add the group “admins”.`
        : err.status === 0 ? "The server can't be reached." : err.message, true);
    }
  }

  // --- re-index ------------------------------------------------------------------------------------
  function showJob(job) {
    const box = A.clear($("reindex-status"));
    const p = job.progress || { done: 0, total: 0 };
    if (job.status === "queued") {  // waiting for the runner (or for the build before it)
      box.append(h("progress", { "aria-label": "Re-index progress" }), "Waiting to start…");
    } else if (job.status === "running") {
      const bar = h("progress", { max: String(Math.max(p.total, 1)), value: String(p.done), "aria-label": "Re-index progress" });
      if (!p.total) bar.removeAttribute("value");  // indeterminate until the corpus is read
      box.append(bar, p.total ? `Embedding ${p.done} / ${p.total} chunks…` : "Reading documents…");
    } else if (job.status === "done") {
      box.append(`✔ Done: build ${job.build_id}` + (job.report ? ` (${job.report.documents} documents, ${job.report.embedded_chunks} chunks embedded)` : ""));
    } else {
      box.append(h("span", { class: "sla late", text: `✖ Failed: ${job.error || "unknown error"}` }));
    }
  }

  async function follow(jobId) {
    $("reindex").disabled = true;
    let misses = 0;  // polls in a row that failed for a reason that may pass (no answer, a 5xx)
    try {
      for (;;) {
        try {
          const job = await A.api(`/api/v1/admin/reindex/${encodeURIComponent(jobId)}`);
          misses = 0;
          showJob(job);
          if (job.status !== "running" && job.status !== "queued") break;
        } catch (err) {
          if (err.status === 404 || (err.status >= 400 && err.status < 500) || ++misses > 10) throw err;
        }
        await new Promise((r) => setTimeout(r, 800));
      }
    } catch (err) {
      A.fill($("reindex-status"), err.status === 404 ? "" : `Progress unavailable: ${err.message}`);
    } finally {
      A.store(JOB_KEY, null);
      $("reindex").disabled = false;
    }
  }

  $("reindex").addEventListener("click", async () => {
    $("reindex").disabled = true;
    try {
      const job = await A.api("/api/v1/admin/reindex", { method: "POST", body: { full: false } });
      A.store(JOB_KEY, job.job_id);
      showJob(job);
      follow(job.job_id);
    } catch (err) {
      $("reindex").disabled = false;
      A.fill($("reindex-status"), h("span", { class: "sla late", text: err.message }));
    }
  });

  A.page({ current: "admin", groupsHint: "admins", languages: false });
  $("days").addEventListener("change", () => { days = Number($("days").value); load(); });
  days = Number($("days").value);
  load();
  const running = A.store(JOB_KEY);
  if (running) follow(running);
})();
