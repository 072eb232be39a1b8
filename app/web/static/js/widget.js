/* The one-tag widget (served as the last part of /widget.js, after core.js and chat.js):
 *
 *   <script src="https://ayuda.example/widget.js" data-user="ana@corp" data-groups="managers" async></script>
 *
 * data-user / data-groups: the employee in dev mode only (proxy/oidc modes: the server knows who is signed in);
 * data-lang: en | es | pt (default: the browser's); data-mode: "launcher" (default: a button that opens a
 * chat panel) or "inline" with data-target="#css-selector" (the chat fills that element);
 * data-poll-ms: how often tickets are refreshed (default 5000).
 * The API base is where this script came from, so the widget works on any intranet origin (CORS). */
(function () {
  "use strict";
  const A = window.Ayuda;
  const script = document.currentScript;
  if (!script || A.widget) return;
  const src = new URL(script.src, location.href);
  A.config.base = src.origin === location.origin ? "" : src.origin + src.pathname.replace(/\/widget\.js$/, "");
  const data = script.dataset;
  if (data.lang && A.TEXTS[data.lang] && !A.languageChosen) A.lang = data.lang;
  const pollMs = Math.max(1000, Number(data.pollMs || new URLSearchParams(location.search).get("poll") || 5000));
  const css = `${A.config.base}/static/css/chat.css`;

  function shadowHost(host) {
    const shadow = host.attachShadow({ mode: "open" });
    shadow.appendChild(A.h("link", { rel: "stylesheet", href: css }));
    return shadow;
  }

  /** oidc mode without a session: a "Sign in" link that goes through the identity provider and back here. */
  function signInBar(root) {
    document.addEventListener("ayuda:signin", () => {
      if (root.querySelector(".ay-signin")) return;
      const link = A.h("a", { class: "ay-signin", href: A.loginUrl(), target: "_top", text: A.t("sign_in_to_chat") });
      root.prepend(A.h("p", { class: "ay-signin-bar" }, link));
    });
  }

  function inline() {
    const target = document.querySelector(data.target || "#ayuda-chat");
    if (!target) return;
    const root = shadowHost(target);
    signInBar(root);
    const chat = new A.Chat(root, { mode: "inline", pollMs });
    A.widget = { chat };
  }

  function launcher() {
    const host = A.h("div", { id: "ayuda-widget" });
    document.body.appendChild(host);
    const shadow = shadowHost(host);
    const OPEN_KEY = "ayuda:open";
    const badge = A.h("span", { class: "ay-badge ay-launcher-badge", hidden: true });
    const button = A.h("button", { type: "button", class: "ay-launcher", "aria-expanded": "false",
                                   "aria-controls": "ay-panel", "aria-label": A.t("open") },
      A.h("span", { class: "ay-launcher-icon", "aria-hidden": "true", text: "💬" }),
      A.h("span", { class: "ay-launcher-label", text: A.t("brand") }), badge);
    const panel = A.h("div", { id: "ay-panel", class: "ay-panel", role: "dialog", "aria-label": A.t("brand"),
                               hidden: true });
    shadow.append(button, panel);
    signInBar(panel);
    let isOpen = false;
    const setOpen = (open, restoreFocus) => {
      isOpen = open;
      panel.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      button.classList.toggle("ay-launcher-open", open);
      A.store(OPEN_KEY, open || null);
      if (open) { chat.refreshTickets(); chat.focus(); chat.scrollDown(); } else if (restoreFocus) button.focus();
    };
    const chat = new A.Chat(panel, {
      mode: "widget", pollMs, isOpen: () => isOpen, onClose: () => setOpen(false, true),
      onBadge: (n) => { badge.hidden = n === 0; badge.textContent = String(n); },
    });
    button.addEventListener("click", () => setOpen(!isOpen, true));
    panel.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); setOpen(false, true); } });
    document.addEventListener("ayuda:language", () => {
      button.setAttribute("aria-label", A.t("open"));
      panel.setAttribute("aria-label", A.t("brand"));
    });
    if (A.store(OPEN_KEY)) setOpen(true);
    A.widget = { chat, open: () => setOpen(true), close: () => setOpen(false) };
  }

  const start = data.mode === "inline" ? inline : launcher;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
