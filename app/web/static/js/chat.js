/* Ayuda chat: the conversation, cited answers, 👍/👎, "talk to a person", the employee's tickets (polled),
 * replies and CSAT. Used by the embeddable widget and by the full-page chat at "/".
 *
 * A typed message is never lost: the draft and every message not yet answered live in localStorage; each
 * message carries an Idempotency-Key, so retrying after a network failure never opens a second ticket. */
(function () {
  "use strict";
  const A = window.Ayuda;
  if (A.Chat) return;
  const h = A.h;
  const t = (key, params) => A.t(key, params);
  const ACTIVE = ["new", "open", "pending"];
  const KEEP_ITEMS = 80;

  /** An answer as DOM: escaped text, simple Markdown, and [n] markers as links to the cited sections. */
  A.renderAnswer = function (answer, citations) {
    const byN = new Map((citations || []).map((c) => [Number(c.n), c]));
    const cite = (n) => {
      const c = byN.get(n);
      if (!c) return null;
      return h("a", { class: "ay-cite", href: A.helpLink(c.doc_id, c.url), target: "_blank", rel: "noopener",
                      "aria-label": t("cite", { n, title: c.title }), title: `${c.title} › ${c.section}` }, `[${n}]`);
    };
    return A.renderMarkdown(answer, { cite, headingBase: 4 });
  };

  class TicketView {
    constructor(chat, ticketId, nextSteps, compact) {
      this.chat = chat;
      this.compact = Boolean(compact);
      this.id = ticketId;
      this.nextSteps = nextSteps || null;
      this.head = h("div", { class: "ay-ticket-head" });
      this.facts = h("dl", { class: "ay-facts" });
      this.thread = h("ol", { class: "ay-thread", "aria-label": t("ticket") });
      this.csat = h("div", { class: "ay-csat", hidden: true });
      this.replyBox = h("textarea", { rows: "2", "aria-label": t("reply_label"), placeholder: t("reply_label"),
                                      maxlength: "8000" });
      this.replyError = h("p", { class: "ay-form-error", role: "alert", hidden: true });
      this.replyForm = h("form", { class: "ay-reply", hidden: true, onsubmit: (e) => { e.preventDefault(); this.reply(); } },
        this.replyBox, h("button", { type: "submit", class: "ay-btn", text: t("reply_send") }), this.replyError);
      this.el = h("section", { class: "ay-ticket", dataset: { ticket: ticketId } }, this.head, this.facts,
        this.nextSteps ? h("p", { class: "ay-next" }, h("strong", { text: t("next_steps") + ": " }),
                           this.nextSteps.replace(/^[^:]{0,40}:\s*/, "")) : null,
        this.thread, this.csat, this.replyForm,
        this.compact ? h("button", { type: "button", class: "ay-link-btn ay-see-ticket",
                                     onclick: () => { chat.openTicket = ticketId; chat.show("tickets"); } }, t("see_ticket") + " →") : null);
      const known = chat.tickets.get(ticketId);
      if (known) this.update(known);
    }

    update(tk) {
      this.el.setAttribute("aria-label", `${t("ticket")} ${tk.number}`);
      A.fill(this.head,
        h("strong", { class: "ay-ticket-number", text: tk.number }),
        h("span", { class: `ay-status ay-status-${tk.status}`, text: t("status_" + tk.status) }));
      const queueName = this.chat.queueName(tk.queue);
      A.fill(this.facts,
        h("dt", { text: t("queue") }), h("dd", { text: queueName }),
        ACTIVE.includes(tk.status) ? h("dt", { text: t("reply_by") }) : null,
        ACTIVE.includes(tk.status) ? h("dd", {}, h("time", { datetime: tk.first_response_due,
                                                               text: A.formatDate(tk.first_response_due, true) })) : null);
      if (tk.events) this.renderThread(tk);
      this.renderCsat(tk);
      this.replyForm.hidden = this.compact || tk.status === "closed";
    }

    renderThread(tk) {
      A.clear(this.thread);
      for (const e of tk.events) {
        let who = null, body = e.body, cls = e.kind;
        if (e.kind === "created") continue;  // its text is the question, already above
        if (e.kind === "employee_message") who = t("you");
        else if (e.kind === "agent_reply") who = `${t("agent")} · ${e.actor.split("@")[0]}`;
        else if (e.kind === "status_changed") { body = t("ev_status", { status: t("status_" + (e.data.to || "")) }); cls = "event"; }
        else if (e.kind === "csat") { body = t("ev_csat", { score: e.data.score }); cls = "event"; }
        else continue;
        this.thread.appendChild(h("li", { class: `ay-ev ay-ev-${cls}` },
          who ? h("span", { class: "ay-who", text: who }) : null,
          h("span", { class: "ay-body", text: body || "" }),
          h("time", { datetime: e.created_at, text: A.formatDate(e.created_at, true) })));
      }
    }

    renderCsat(tk) {
      const box = A.clear(this.csat);
      if (tk.csat_score) {
        box.hidden = false;
        box.appendChild(h("p", { class: "ay-csat-done", text: t("csat_thanks", { score: tk.csat_score }) }));
        return;
      }
      box.hidden = !["resolved", "closed"].includes(tk.status);
      if (box.hidden) return;
      const name = `csat-${this.id}-${Math.random().toString(36).slice(2, 7)}`;
      const stars = [1, 2, 3, 4, 5].map((n) => h("label", { class: "ay-star" },
        h("input", { type: "radio", name, value: String(n), required: true }),
        h("span", { "aria-hidden": "true", text: "★" }), h("span", { class: "ay-sr", text: t("csat_star", { n }) })));
      const comment = h("input", { type: "text", maxlength: "2000", placeholder: t("csat_comment"),
                                   "aria-label": t("csat_comment") });
      const error = h("p", { class: "ay-form-error", role: "alert", hidden: true });
      const form = h("form", { class: "ay-csat-form", onsubmit: async (e) => {
        e.preventDefault();
        const picked = form.querySelector("input[type=radio]:checked");
        if (!picked) return;
        try {
          const body = { score: Number(picked.value) };
          if (comment.value.trim()) body.comment = comment.value.trim();
          const detail = await A.api(`/api/v1/tickets/${encodeURIComponent(this.id)}/csat`, { method: "POST", body });
          this.chat.ticketUpdated(detail);
        } catch (err) {
          error.hidden = false;
          error.textContent = err.retryable ? t("offline") : t("server_error", { message: err.message });
        }
      } },
        h("fieldset", {}, h("legend", { text: t("csat_q") }), h("div", { class: "ay-stars" }, stars)),
        comment, h("button", { type: "submit", class: "ay-btn", text: t("csat_send") }), error);
      box.appendChild(form);
    }

    async reply() {
      const text = this.replyBox.value.trim();
      if (!text) return;
      this.replyError.hidden = true;
      try {
        const detail = await A.api(`/api/v1/tickets/${encodeURIComponent(this.id)}/messages`,
                                   { method: "POST", body: { body: text } });
        this.replyBox.value = "";
        this.chat.ticketUpdated(detail);
      } catch (err) {  // the text stays in the box
        this.replyError.hidden = false;
        this.replyError.textContent = err.retryable ? t("offline") : t("server_error", { message: err.message });
      }
    }
  }

  class Chat {
    /** root: an element or shadow root to render into. opts: {mode: "inline"|"widget", pollMs, onClose} */
    constructor(root, opts) {
      this.root = root;
      this.opts = Object.assign({ mode: "inline", pollMs: 5000 }, opts || {});
      const who = A.identity.user || "default";
      this.key = `ayuda:v1:${who}:chat`;
      this.draftKey = `ayuda:v1:${who}:draft`;
      const saved = A.store(this.key) || {};
      this.conversationId = saved.conversationId || null;
      this.items = (saved.items || []).map((it) => it.status === "pending" ? Object.assign(it, { resume: true }) : it);
      this.seen = saved.seen || {};
      this.tickets = new Map();  // id → latest detail (or list row)
      this.ticketList = [];
      this.views = new Map();  // id → Set<TicketView>
      this.queues = new Map();
      this.busy = false;
      this.noStream = false;  // the server turned out to have no /chat/stream: ask /chat directly
      this.tab = "chat";
      this.openTicket = null;
      this.render();
      this.loadQueues();
      this.refreshTickets(true);
      this.timer = setInterval(() => this.poll(), this.opts.pollMs);
      window.addEventListener("online", () => this.retry());
      document.addEventListener("ayuda:language", () => this.render());
      if (this.items.some((it) => it.status === "pending")) this.pump();
    }

    save() {
      A.store(this.key, { conversationId: this.conversationId, items: this.items.slice(-KEEP_ITEMS), seen: this.seen });
    }

    queueName(id) { return this.queues.get(id) || id.toUpperCase(); }

    async loadQueues() {
      try {
        for (const q of await A.api("/api/v1/queues")) this.queues.set(q.id, q.name);
        for (const [id, tk] of this.tickets) this.ticketUpdated(tk, id);
      } catch (e) { /* names fall back to the queue ids */ }
    }

    // --- layout -----------------------------------------------------------------------------------
    render() {
      const draft = this.input ? this.input.value : A.store(this.draftKey) || "";
      const root = this.root;
      for (const node of [...root.childNodes]) if (!(node.tagName === "LINK")) root.removeChild(node);
      this.views.clear();
      const widget = this.opts.mode === "widget";
      this.tabChat = h("button", { role: "tab", id: "ay-tab-chat", "aria-controls": "ay-pane-chat", class: "ay-tab",
                                   onclick: () => this.show("chat"), onkeydown: (e) => this.tabKeys(e) }, t("tab_chat"));
      this.badge = h("span", { class: "ay-badge", hidden: true });
      this.tabTickets = h("button", { role: "tab", id: "ay-tab-tickets", "aria-controls": "ay-pane-tickets", class: "ay-tab",
                                      onclick: () => this.show("tickets"), onkeydown: (e) => this.tabKeys(e) },
        t("tab_tickets"), " ", this.badge);
      const header = h("header", { class: "ay-header" },
        h("div", { class: "ay-title" }, h("span", { class: "ay-logo", "aria-hidden": "true", text: "A" }),
          h("div", {}, h("h2", { class: "ay-brand", text: t("brand") }), h("p", { class: "ay-tagline", text: t("tagline") }))),
        h("div", { class: "ay-tools" },
          A.languagePicker(() => { /* re-render via the ayuda:language event */ }),
          widget ? h("button", { class: "ay-icon-btn ay-close", type: "button", "aria-label": t("close"),
                                 onclick: () => this.opts.onClose && this.opts.onClose() }, "✕") : null));
      this.humanBtn = h("button", { type: "button", class: "ay-human", onclick: () => this.askForPerson() },
        h("span", { class: "ay-human-icon", "aria-hidden": "true", text: "🙋 " }), t("human"));
      const tabs = h("div", { class: "ay-tabs" }, h("div", { role: "tablist", "aria-label": t("brand") }, this.tabChat,
                                                    this.tabTickets), this.humanBtn);

      this.log = h("div", { class: "ay-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
                            "aria-label": t("tab_chat"), tabindex: "0" });
      this.typing = h("div", { class: "ay-typing", role: "status", hidden: true },
        h("span", { class: "ay-dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), h("span", { text: t("typing") }));
      this.alert = h("div", { class: "ay-alert", role: "alert", hidden: true },
        h("span", { class: "ay-alert-text", text: t("offline") }),
        h("button", { type: "button", class: "ay-btn ay-retry", onclick: () => this.retry() }, t("retry")));
      this.input = h("textarea", { id: "ay-input", rows: "1", maxlength: "4000", placeholder: t("placeholder"),
                                   "aria-label": t("input_label"), enterkeyhint: "send" });
      this.input.value = draft;
      this.input.addEventListener("input", () => { A.store(this.draftKey, this.input.value); this.grow(); });
      this.input.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
      });
      const composer = h("form", { class: "ay-composer", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
        this.input, h("button", { type: "submit", class: "ay-send", "aria-label": t("send") },
          h("span", { "aria-hidden": "true", text: "➤" }), h("span", { class: "ay-send-label", text: t("send") })));
      this.paneChat = h("section", { role: "tabpanel", id: "ay-pane-chat", "aria-labelledby": "ay-tab-chat",
                                     class: "ay-pane" }, this.log, this.typing, this.alert, composer);
      this.ticketsBox = h("div", { class: "ay-tickets" });
      this.paneTickets = h("section", { role: "tabpanel", id: "ay-pane-tickets", "aria-labelledby": "ay-tab-tickets",
                                        class: "ay-pane", hidden: true }, this.ticketsBox);
      this.el = h("div", { class: `ayuda ayuda-${this.opts.mode}`, lang: A.lang }, header, tabs, this.paneChat,
                  this.paneTickets);
      root.appendChild(this.el);

      this.log.appendChild(h("div", { class: "ay-msg ay-bot ay-welcome" }, h("p", { text: t("welcome") })));
      for (const item of this.items) this.log.appendChild(this.renderItem(item));
      this.updateAlert();
      this.show(this.tab, true);
      this.grow();
      this.scrollDown();
    }

    grow() {
      this.input.style.height = "";
      if (this.input.value.includes("\n") || this.input.scrollHeight > this.input.clientHeight + 2) {
        this.input.style.height = Math.min(this.input.scrollHeight + 2, 140) + "px";
      }
    }

    tabKeys(e) {
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        e.preventDefault();
        this.show(this.tab === "chat" ? "tickets" : "chat");
        (this.tab === "chat" ? this.tabChat : this.tabTickets).focus();
      }
    }

    show(tab, quiet) {
      this.tab = tab;
      const chat = tab === "chat";
      this.tabChat.setAttribute("aria-selected", String(chat));
      this.tabTickets.setAttribute("aria-selected", String(!chat));
      this.tabChat.tabIndex = chat ? 0 : -1;
      this.tabTickets.tabIndex = chat ? -1 : 0;
      this.paneChat.hidden = !chat;
      this.paneTickets.hidden = chat;
      if (!chat) { this.renderTickets(); this.refreshTickets(); }
      if (chat && !quiet) this.scrollDown();
    }

    focus() { (this.tab === "chat" ? this.input : this.tabTickets).focus(); }

    scrollDown() { requestAnimationFrame(() => { this.log.scrollTop = this.log.scrollHeight; }); }

    // --- messages ---------------------------------------------------------------------------------
    renderItem(item) {
      let node;
      if (item.role === "user") node = this.renderUser(item);
      else node = this.renderBot(item);
      node.dataset.item = item.id;
      return node;
    }

    renderUser(item) {
      const status = h("div", { class: "ay-msg-status" });
      if (item.status === "pending") status.append(t("sending"));
      if (item.status === "failed") {
        status.append(h("span", { class: "ay-failed", text: item.error ? t("failed", { message: item.error }) : t("not_sent") }),
          " ", item.retryable === false
            ? h("button", { type: "button", class: "ay-link-btn", onclick: () => this.edit(item) }, t("edit"))
            : h("button", { type: "button", class: "ay-link-btn", onclick: () => this.retry() }, t("retry")));
      }
      return h("div", { class: `ay-msg ay-user ay-${item.status}` },
        h("span", { class: "ay-sr", text: t("you") + ": " }), h("p", { class: "ay-text", text: item.text }), status);
    }

    renderBot(item) {
      const r = item.response;
      const body = h("div", { class: "ay-answer" }, A.renderAnswer(r.answer, r.citations));
      const node = h("div", { class: "ay-msg ay-bot", lang: r.language }, h("span", { class: "ay-sr", text: "Ayuda: " }), body);
      if (r.citations && r.citations.length) {
        node.appendChild(h("div", { class: "ay-sources" }, h("p", { class: "ay-sources-title", text: t("sources") }),
          h("ol", {}, r.citations.map((c) => h("li", { value: String(c.n) },
            h("a", { href: A.helpLink(c.doc_id, c.url), target: "_blank", rel: "noopener" }, c.title),
            c.section && c.section !== c.title ? h("span", { class: "ay-section", text: " › " + c.section } ) : null)))));
      }
      if (r.ticket) {
        const view = new TicketView(this, r.ticket.id, r.next_steps, true);
        if (!this.tickets.has(r.ticket.id)) view.update(Object.assign({ queue: r.ticket.queue, first_response_due: null },
                                                                      r.ticket));
        this.addView(view);
        node.appendChild(view.el);
      }
      if (["answered", "answered_offer_human"].includes(r.outcome)) node.appendChild(this.renderFeedback(item));
      if (r.outcome === "declined" || r.outcome === "off_topic") {  // neither an answer nor a ticket: say so
        node.classList.add(r.outcome === "declined" ? "ay-declined" : "ay-off-topic");
        body.prepend(h("p", { class: "ay-badge", text: t(r.outcome === "declined" ? "badge_declined" : "badge_off_topic") }));
      }
      if (r.outcome === "answered_offer_human" || r.outcome === "off_topic") {
        node.appendChild(h("p", { class: "ay-offer" }, t(r.outcome === "off_topic" ? "offer_off_topic" : "offer_human"), " ",
          h("button", { type: "button", class: "ay-link-btn", onclick: () => this.askForPerson() }, t("human"))));
      }
      return node;
    }

    renderFeedback(item) {
      const r = item.response;
      const box = h("div", { class: "ay-feedback" });
      const status = h("p", { class: "ay-feedback-status", role: "status" });
      const mk = (helpful, emoji, label) => h("button", {
        type: "button", class: "ay-thumb", "aria-label": label, title: label,
        "aria-pressed": String(item.feedback === (helpful ? "up" : "down")),
        onclick: () => this.feedback(item, helpful, null, box, status) }, emoji);
      const comment = h("textarea", { rows: "2", maxlength: "2000", "aria-label": t("comment_label"),
                                      placeholder: t("comment_label") });
      const form = h("form", { class: "ay-comment", hidden: !item.feedback || item.commented,
                               onsubmit: (e) => { e.preventDefault(); this.feedback(item, item.feedback === "up", comment.value.trim(), box, status); } },
        comment, h("button", { type: "submit", class: "ay-btn", text: t("comment_send") }));
      box.append(h("span", { class: "ay-feedback-q", text: t("helpful_q") }),
        mk(true, "👍", t("helpful")), mk(false, "👎", t("not_helpful")), status, form);
      if (item.commented) status.textContent = t("comment_thanks");
      else if (item.feedback) status.textContent = t("thanks_feedback");
      box.dataset.message = r.message_id;
      return box;
    }

    async feedback(item, helpful, comment, box, status) {
      const body = { helpful };
      if (comment) body.comment = comment;
      try {
        await A.api(`/api/v1/messages/${encodeURIComponent(item.response.message_id)}/feedback`, { method: "POST", body });
      } catch (err) {
        status.textContent = err.retryable ? t("offline") : t("server_error", { message: err.message });
        return;
      }
      item.feedback = helpful ? "up" : "down";
      if (comment) item.commented = true;
      this.save();
      const [up, down] = box.querySelectorAll(".ay-thumb");
      up.setAttribute("aria-pressed", String(helpful));
      down.setAttribute("aria-pressed", String(!helpful));
      const form = box.querySelector(".ay-comment");
      form.hidden = Boolean(item.commented);
      status.textContent = item.commented ? t("comment_thanks") : t("thanks_feedback");
      if (!item.commented) form.querySelector("textarea").focus();
    }

    replaceNode(item) {
      const old = this.log.querySelector(`[data-item="${item.id}"]`);
      const node = this.renderItem(item);
      if (old) old.replaceWith(node); else this.log.appendChild(node);
    }

    submit(text) {
      const message = (text === undefined ? this.input.value : text).trim();
      if (!message) return;
      const item = { id: A.uuid(), role: "user", text: message, key: A.uuid(), status: "pending",
                     at: new Date().toISOString() };
      if (A.languageChosen) item.language = A.lang;
      this.items.push(item);
      this.save();  // saved before the box is cleared: a crash now still keeps the message
      if (text === undefined) { this.input.value = ""; A.store(this.draftKey, null); this.grow(); }
      this.log.appendChild(this.renderItem(item));
      this.scrollDown();
      this.pump();
    }

    askForPerson() {
      this.show("chat");
      this.submit(t("human_message"));
    }

    edit(item) {
      this.items = this.items.filter((it) => it !== item);
      this.save();
      const node = this.log.querySelector(`[data-item="${item.id}"]`);
      if (node) node.remove();
      this.input.value = item.text;
      A.store(this.draftKey, item.text);
      this.input.focus();
    }

    retry() {
      let any = false;
      for (const it of this.items) if (it.status === "failed" && it.retryable !== false) {
        it.status = "pending"; it.error = null; any = true; this.replaceNode(it);
      }
      if (any) { this.save(); this.updateAlert(); this.pump(); }
    }

    updateAlert() {
      this.alert.hidden = !this.items.some((it) => it.status === "failed" && it.retryable !== false);
    }

    /** Send pending messages one at a time, in order; stop at the first one the server can't take. */
    async pump() {
      if (this.busy) return;
      this.busy = true;
      this.typing.hidden = false;
      this.scrollDown();
      try {
        let item;
        while ((item = this.items.find((it) => it.status === "pending"))) {
          const body = { message: item.text };
          if (this.conversationId) body.conversation_id = this.conversationId;
          if (item.language) body.language = item.language;
          try {
            const r = await this.ask(item, body);
            this.conversationId = r.conversation_id;
            item.status = "sent";
            const reply = { id: "r-" + item.id, role: "bot", response: r, at: new Date().toISOString() };
            this.items.splice(this.items.indexOf(item) + 1, 0, reply);
            this.save();
            this.replaceNode(item);
            const node = this.renderItem(reply);
            this.log.querySelector(`[data-item="${item.id}"]`).after(node);
            if (r.ticket) this.refreshTickets(true);
          } catch (err) {
            const rest = this.items.filter((it) => it.status === "pending");
            for (const it of err.retryable ? rest : [item]) {
              it.status = "failed";
              it.retryable = err.retryable;
              it.error = err.retryable ? null : err.message;
              this.replaceNode(it);
            }
            this.save();
            if (err.retryable) break;
          }
        }
      } finally {
        this.busy = false;
        this.typing.hidden = true;
        this.updateAlert();
        this.scrollDown();
      }
    }

    /** One turn, streamed when the server can (POST /chat/stream): the reply shows in a provisional bubble as it is
     * written, and the final answer (which may differ: the server checks it) replaces it. A server without
     * streaming, or a stream that broke off, gets POST /chat with the same Idempotency-Key: one turn, one answer. */
    async ask(item, body) {
      const options = { method: "POST", body, headers: { "Idempotency-Key": item.key }, timeout: 60000 };
      let fallback = null;
      if (!this.noStream) {
        let draft = null, text = "";
        const onEvent = (name, data) => {
          if (name !== "token" || typeof (data && data.text) !== "string") return;
          text += data.text;
          draft = draft || this.draftBubble(item);
          draft.firstChild.textContent = text.replace(/\s*\[\d{1,3}\]|\s*\[\d{0,3}$|\*\*|__/g, "");
          this.scrollDown();
        };
        try {
          return await A.stream("/api/v1/chat/stream", Object.assign({ onEvent }, options));
        } catch (err) {  // anything else (422, 409, 429, 503…) is shown as an error from /chat would be
          if (!(err.unavailable || err.broken || [0, 404, 405].includes(err.status))) throw err;
          fallback = err;
        } finally {
          if (draft) draft.remove();  // the final reply takes its place, in the same task: no flicker
        }
      }
      const r = await A.api("/api/v1/chat", options);
      if (fallback && (fallback.unavailable || fallback.status === 404 || fallback.status === 405)) this.noStream = true;
      return r;
    }

    /** The provisional bubble: plain text, no [n] markers. The log is a live region: this bubble is busy and hidden
     * from screen readers (the typing status says Ayuda is writing), so they read the final reply, once. */
    draftBubble(item) {
      const node = h("div", { class: "ay-msg ay-bot ay-draft", "aria-busy": "true", "aria-hidden": "true" },
        h("p", { class: "ay-text" }));
      const mine = this.log.querySelector(`[data-item="${item.id}"]`);
      if (mine) mine.after(node); else this.log.appendChild(node);
      return node;
    }

    // --- tickets ----------------------------------------------------------------------------------
    addView(view) {
      if (!this.views.has(view.id)) this.views.set(view.id, new Set());
      this.views.get(view.id).add(view);
    }

    ticketUpdated(detail, id) {
      const key = id || detail.id;
      const known = this.tickets.get(key);
      const merged = Object.assign({}, known || {}, detail);
      this.tickets.set(key, merged);
      for (const view of this.views.get(key) || []) view.update(merged);
      const row = this.ticketList.find((r) => r.id === key);
      if (row) Object.assign(row, detail);
    }

    wantsPolling() {
      if (this.opts.mode === "widget" && !this.opts.isOpen()) {
        return this.ticketList.some((tk) => ACTIVE.includes(tk.status) || (tk.status === "resolved" && !tk.csat_score));
      }
      return true;
    }

    poll() {
      if (document.hidden || !this.wantsPolling()) return;
      this.refreshTickets();
    }

    async refreshTickets(force) {
      if (this.refreshing) return;
      this.refreshing = true;
      try {
        const list = await A.api("/api/v1/tickets");
        const changed = list.filter((tk) => {
          const before = this.ticketList.find((r) => r.id === tk.id);
          return force || !before || before.updated_at !== tk.updated_at || !this.tickets.get(tk.id)?.events;
        });
        this.ticketList = list;
        for (const tk of changed) {
          const shown = this.views.has(tk.id) || this.openTicket === tk.id;
          if (shown) this.ticketUpdated(await A.api(`/api/v1/tickets/${encodeURIComponent(tk.id)}`));
          else this.ticketUpdated(tk);
        }
        if (this.tab === "tickets" && !this.paneTickets.hidden) {
          for (const tk of list) this.seen[tk.id] = tk.updated_at;
          if (changed.length || !this.ticketsBox.firstChild) this.renderTickets();
        } else {
          for (const tk of changed) if (this.views.has(tk.id) && this.isVisible()) this.seen[tk.id] = tk.updated_at;
        }
        this.save();
        this.updateBadge();
      } catch (err) {
        /* polling failures are silent: the next poll tries again */
      } finally {
        this.refreshing = false;
      }
    }

    isVisible() { return this.opts.mode !== "widget" || this.opts.isOpen(); }

    updateBadge() {
      const unseen = this.ticketList.filter((tk) => this.seen[tk.id] !== tk.updated_at).length;
      this.badge.hidden = unseen === 0;
      this.badge.textContent = String(unseen);
      this.badge.setAttribute("aria-label", t("new_updates", { n: unseen }));
      if (this.opts.onBadge) this.opts.onBadge(unseen);
    }

    renderTickets() {
      const box = A.clear(this.ticketsBox);
      if (this.openTicket) {
        const tk = this.tickets.get(this.openTicket);
        box.appendChild(h("button", { type: "button", class: "ay-link-btn ay-back",
                                      onclick: () => { this.openTicket = null; this.renderTickets(); } }, "← " + t("back")));
        if (tk) box.appendChild(h("h3", { class: "ay-subject", text: tk.subject || "" }));
        const view = new TicketView(this, this.openTicket, null);
        for (const set of this.views.values()) for (const v of set) if (!v.el.isConnected) set.delete(v);
        this.addView(view);
        box.appendChild(view.el);
        return;
      }
      if (!this.ticketList.length) {
        box.appendChild(h("p", { class: "ay-empty", text: t("no_tickets") }));
        return;
      }
      box.appendChild(h("ul", { class: "ay-ticket-list" }, this.ticketList.map((tk) => h("li", {},
        h("button", { type: "button", class: "ay-ticket-row", onclick: async () => {
          this.openTicket = tk.id;
          try { this.ticketUpdated(await A.api(`/api/v1/tickets/${encodeURIComponent(tk.id)}`)); } catch (e) { /* shown from the list row */ }
          this.renderTickets();
          const first = this.ticketsBox.querySelector(".ay-back");
          if (first) first.focus();
        } },
          h("span", { class: "ay-ticket-number", text: tk.number }),
          h("span", { class: `ay-status ay-status-${tk.status}`, text: t("status_" + tk.status) }),
          h("span", { class: "ay-ticket-subject", text: tk.subject }),
          h("span", { class: "ay-ticket-updated", text: t("updated", { date: A.formatDate(tk.updated_at, true) }) }))))));
    }
  }

  A.Chat = Chat;
})();
