/* Ayuda core, shared by the chat widget and the pages: identity, API calls, interface texts (en/es/pt),
 * and a small Markdown renderer that builds DOM nodes. Text from answers and documents only ever becomes
 * text nodes (textContent); nothing here assigns innerHTML. */
(function () {
  "use strict";
  if (window.Ayuda && window.Ayuda.core) return;
  const A = (window.Ayuda = window.Ayuda || {});
  A.core = true;
  A.config = A.config || { base: "" };

  // --- interface texts ------------------------------------------------------------------------------
  const TEXTS = {
    en: {
      brand: "Ayuda", tagline: "HR, IT, Payroll and Facilities help",
      open: "Open the help chat", close: "Close the help chat", tab_chat: "Chat", tab_tickets: "My tickets",
      input_label: "Your question", placeholder: "Ask a question…", send: "Send", language: "Language",
      human: "Talk to a person", human_message: "I want to talk to a person",
      typing: "Ayuda is typing…", thinking: "Ayuda is looking in the documents",
      welcome: "Hi! Ask me about leave, pay, IT or the office. I answer from the company's documents and show my sources.",
      sources: "Sources", helpful_q: "Was this helpful?", helpful: "Helpful", not_helpful: "Not helpful",
      thanks_feedback: "Thanks for your feedback.", comment_label: "Tell us more (optional)",
      comment_send: "Send comment", comment_thanks: "Thanks, your comment was sent.",
      offer_human: "Not what you needed?", offer_off_topic: "Should a person see this?",
      badge_declined: "Private information: I can't share it", badge_off_topic: "Outside what I can help with",
      ticket: "Ticket", queue: "Queue", status: "Status", next_steps: "Next steps", reply_by: "Reply expected by",
      status_new: "New", status_open: "Open", status_pending: "Waiting for you", status_resolved: "Resolved",
      status_closed: "Closed",
      you: "You", agent: "Agent", ev_created: "Ticket opened", ev_status: "Status changed to {status}",
      ev_csat: "You rated this ticket {score}/5", not_sent: "Not sent", sending: "Sending…", retry: "Retry",
      offline: "Ayuda can't be reached right now. Your message is saved and will not be lost.",
      failed: "The message could not be sent: {message}", edit: "Edit",
      no_tickets: "You have no tickets yet.", back: "Back to my tickets", open_ticket: "Open",
      reply_label: "Write a reply", reply_send: "Send reply", see_ticket: "Reply or follow it in My tickets",
      csat_q: "Your ticket is resolved. How did we do?", csat_star: "{n} out of 5", csat_comment: "Comment (optional)",
      csat_send: "Send rating", csat_thanks: "Thanks! You rated this ticket {score}/5.",
      new_updates: "{n} tickets with news", updated: "Updated {date}", cite: "Source {n}: {title}",
      help_title: "Help center", search_label: "Search the help center", search: "Search",
      results_for: "Results for “{q}”", no_results: "Nothing found. Try other words, or ask Ayuda.",
      all_departments: "All departments", documents: "{n} documents", last_updated: "Last updated",
      owner: "Owner", on_intranet: "Open on the intranet", contents: "Contents", also_in: "Also in",
      doc_not_found: "This document doesn't exist, or you don't have access to it.", back_to_help: "Help center",
      ask_ayuda: "Ask Ayuda", loading: "Loading…", server_error: "Something went wrong: {message}",
      signed_in_as: "Signed in as", change: "Change", save: "Save", user_label: "User", groups_label: "Groups",
      dev_identity: "Development mode: identity comes from these fields. Real sign-in will replace this.",
      sign_out: "Sign out", signed_out: "Signed out", sign_in: "Sign in", sign_in_to_chat: "Sign in to use the help chat",
      dept_hr: "HR", dept_it: "IT", dept_payroll: "Payroll", dept_facilities: "Facilities", dept_general: "General",
      dept_faq: "FAQ", lang_en: "English", lang_es: "Spanish", lang_pt: "Portuguese", section: "Section",
    },
    es: {
      brand: "Ayuda", tagline: "Ayuda de RR. HH., IT, Nóminas e Instalaciones",
      open: "Abrir el chat de ayuda", close: "Cerrar el chat de ayuda", tab_chat: "Chat", tab_tickets: "Mis tickets",
      input_label: "Tu pregunta", placeholder: "Escribe tu pregunta…", send: "Enviar", language: "Idioma",
      human: "Hablar con una persona", human_message: "Quiero hablar con una persona",
      typing: "Ayuda está escribiendo…", thinking: "Ayuda está buscando en los documentos",
      welcome: "¡Hola! Pregúntame sobre vacaciones, nóminas, IT o la oficina. Respondo con los documentos de la empresa y te muestro las fuentes.",
      sources: "Fuentes", helpful_q: "¿Te ha servido?", helpful: "Me ha servido", not_helpful: "No me ha servido",
      thanks_feedback: "Gracias por tu opinión.", comment_label: "Cuéntanos más (opcional)",
      comment_send: "Enviar comentario", comment_thanks: "Gracias, hemos recibido tu comentario.",
      offer_human: "¿No es lo que buscabas?", offer_off_topic: "¿Quieres que lo vea una persona?",
      badge_declined: "Información privada: no puedo compartirla", badge_off_topic: "Fuera de lo que puedo ayudar",
      ticket: "Ticket", queue: "Cola", status: "Estado", next_steps: "Próximos pasos", reply_by: "Respuesta prevista antes del",
      status_new: "Nuevo", status_open: "Abierto", status_pending: "Esperando tu respuesta", status_resolved: "Resuelto",
      status_closed: "Cerrado",
      you: "Tú", agent: "Agente", ev_created: "Ticket abierto", ev_status: "Estado: {status}",
      ev_csat: "Has valorado este ticket con {score}/5", not_sent: "No enviado", sending: "Enviando…", retry: "Reintentar",
      offline: "No podemos conectar con Ayuda ahora mismo. Tu mensaje está guardado y no se perderá.",
      failed: "No se ha podido enviar el mensaje: {message}", edit: "Editar",
      no_tickets: "Todavía no tienes tickets.", back: "Volver a mis tickets", open_ticket: "Abrir",
      reply_label: "Escribe una respuesta", reply_send: "Enviar respuesta", see_ticket: "Responder o seguirlo en Mis tickets",
      csat_q: "Tu ticket está resuelto. ¿Qué tal lo hicimos?", csat_star: "{n} de 5", csat_comment: "Comentario (opcional)",
      csat_send: "Enviar valoración", csat_thanks: "¡Gracias! Has valorado este ticket con {score}/5.",
      new_updates: "{n} tickets con novedades", updated: "Actualizado: {date}", cite: "Fuente {n}: {title}",
      help_title: "Centro de ayuda", search_label: "Buscar en el centro de ayuda", search: "Buscar",
      results_for: "Resultados para «{q}»", no_results: "No hay resultados. Prueba con otras palabras o pregunta a Ayuda.",
      all_departments: "Todos los departamentos", documents: "{n} documentos", last_updated: "Última actualización",
      owner: "Responsable", on_intranet: "Abrir en la intranet", contents: "Contenido", also_in: "También en",
      doc_not_found: "Este documento no existe o no tienes acceso a él.", back_to_help: "Centro de ayuda",
      ask_ayuda: "Preguntar a Ayuda", loading: "Cargando…", server_error: "Algo ha fallado: {message}",
      signed_in_as: "Sesión de", change: "Cambiar", save: "Guardar", user_label: "Usuario", groups_label: "Grupos",
      dev_identity: "Modo de desarrollo: la identidad sale de estos campos. El inicio de sesión real lo sustituirá.",
      sign_out: "Cerrar sesión", signed_out: "Sesión cerrada", sign_in: "Iniciar sesión",
      sign_in_to_chat: "Inicia sesión para usar el chat de ayuda",
      dept_hr: "RR. HH.", dept_it: "IT", dept_payroll: "Nóminas", dept_facilities: "Instalaciones", dept_general: "General",
      dept_faq: "Preguntas frecuentes", lang_en: "Inglés", lang_es: "Español", lang_pt: "Portugués", section: "Sección",
    },
    pt: {
      brand: "Ayuda", tagline: "Ajuda de RH, TI, Folha de pagamento e Instalações",
      open: "Abrir o chat de ajuda", close: "Fechar o chat de ajuda", tab_chat: "Chat", tab_tickets: "Meus chamados",
      input_label: "Sua pergunta", placeholder: "Digite sua pergunta…", send: "Enviar", language: "Idioma",
      human: "Falar com uma pessoa", human_message: "Quero falar com uma pessoa",
      typing: "Ayuda está digitando…", thinking: "Ayuda está procurando nos documentos",
      welcome: "Olá! Pergunte sobre férias, salário, TI ou o escritório. Respondo com os documentos da empresa e mostro as fontes.",
      sources: "Fontes", helpful_q: "Isso ajudou?", helpful: "Ajudou", not_helpful: "Não ajudou",
      thanks_feedback: "Obrigado pelo retorno.", comment_label: "Conte mais (opcional)",
      comment_send: "Enviar comentário", comment_thanks: "Obrigado, seu comentário foi enviado.",
      offer_human: "Não era isso?", offer_off_topic: "Quer que uma pessoa veja isto?",
      badge_declined: "Informação privada: não posso compartilhar", badge_off_topic: "Fora do que posso ajudar",
      ticket: "Chamado", queue: "Fila", status: "Status", next_steps: "Próximos passos", reply_by: "Resposta prevista até",
      status_new: "Novo", status_open: "Aberto", status_pending: "Aguardando você", status_resolved: "Resolvido",
      status_closed: "Fechado",
      you: "Você", agent: "Atendente", ev_created: "Chamado aberto", ev_status: "Status: {status}",
      ev_csat: "Você avaliou este chamado com {score}/5", not_sent: "Não enviado", sending: "Enviando…", retry: "Tentar de novo",
      offline: "Não foi possível falar com o Ayuda agora. Sua mensagem está salva e não será perdida.",
      failed: "Não foi possível enviar a mensagem: {message}", edit: "Editar",
      no_tickets: "Você ainda não tem chamados.", back: "Voltar aos meus chamados", open_ticket: "Abrir",
      reply_label: "Escreva uma resposta", reply_send: "Enviar resposta", see_ticket: "Responder ou acompanhar em Meus chamados",
      csat_q: "Seu chamado foi resolvido. Como foi o atendimento?", csat_star: "{n} de 5", csat_comment: "Comentário (opcional)",
      csat_send: "Enviar avaliação", csat_thanks: "Obrigado! Você avaliou este chamado com {score}/5.",
      new_updates: "{n} chamados com novidades", updated: "Atualizado: {date}", cite: "Fonte {n}: {title}",
      help_title: "Central de ajuda", search_label: "Pesquisar na central de ajuda", search: "Pesquisar",
      results_for: "Resultados para “{q}”", no_results: "Nada encontrado. Tente outras palavras ou pergunte ao Ayuda.",
      all_departments: "Todos os departamentos", documents: "{n} documentos", last_updated: "Última atualização",
      owner: "Responsável", on_intranet: "Abrir na intranet", contents: "Conteúdo", also_in: "Também em",
      doc_not_found: "Este documento não existe ou você não tem acesso a ele.", back_to_help: "Central de ajuda",
      ask_ayuda: "Perguntar ao Ayuda", loading: "Carregando…", server_error: "Algo deu errado: {message}",
      signed_in_as: "Conectado como", change: "Alterar", save: "Salvar", user_label: "Usuário", groups_label: "Grupos",
      dev_identity: "Modo de desenvolvimento: a identidade vem destes campos. O login real vai substituir isto.",
      sign_out: "Sair", signed_out: "Sessão encerrada", sign_in: "Entrar",
      sign_in_to_chat: "Entre para usar o chat de ajuda",
      dept_hr: "RH", dept_it: "TI", dept_payroll: "Folha de pagamento", dept_facilities: "Instalações", dept_general: "Geral",
      dept_faq: "Perguntas frequentes", lang_en: "Inglês", lang_es: "Espanhol", lang_pt: "Português", section: "Seção",
    },
  };
  A.TEXTS = TEXTS;
  A.LANGUAGES = ["en", "es", "pt"];
  const LANG_KEY = "ayuda:lang";

  function store(key, value) {
    try {
      if (value === undefined) return JSON.parse(localStorage.getItem(key) || "null");
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* storage full or disabled: the app still works, it just forgets */ }
    return null;
  }
  A.store = store;

  /** The interface language: the user's choice, else the browser's, else English. */
  A.pickLanguage = function (preferred) {
    const chosen = store(LANG_KEY);
    if (chosen && TEXTS[chosen]) return chosen;
    const candidates = [preferred].concat(navigator.languages || [navigator.language || "en"]);
    for (const c of candidates) {
      const code = String(c || "").slice(0, 2).toLowerCase();
      if (TEXTS[code]) return code;
    }
    return "en";
  };
  A.lang = A.pickLanguage();
  A.languageChosen = Boolean(store(LANG_KEY));
  A.setLanguage = function (code) {
    if (!TEXTS[code]) return;
    A.lang = code;
    A.languageChosen = true;
    store(LANG_KEY, code);
    document.dispatchEvent(new CustomEvent("ayuda:language", { detail: code }));
  };
  A.t = function (key, params) {
    const text = (TEXTS[A.lang] && TEXTS[A.lang][key]) || TEXTS.en[key] || key;
    return text.replace(/\{(\w+)\}/g, (m, name) => (params && name in params ? String(params[name]) : m));
  };
  A.department = function (code) {
    const key = "dept_" + code;
    return TEXTS.en[key] ? A.t(key) : code.charAt(0).toUpperCase() + code.slice(1);
  };
  A.formatDate = function (value, withTime) {
    if (!value) return "";
    const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(value + "T12:00:00") : new Date(value);
    if (isNaN(date)) return String(value);
    const opts = withTime ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "long" };
    try { return new Intl.DateTimeFormat(A.lang, opts).format(date); } catch (e) { return date.toISOString(); }
  };

  // --- identity ------------------------------------------------------------------------------------
  // The server's AYUDA_AUTH_MODE decides. Pages get it in <meta name="ayuda-auth">; the widget on another
  // origin asks GET /auth/session before its first call. In dev mode the API takes the user from
  // X-Ayuda-User / X-Ayuda-Groups: the widget gets them from its tag's data-user / data-groups, the pages
  // from ?user=…&groups=…, remembered here. In proxy and oidc modes the server knows who is signed in (proxy
  // headers, session cookie): the browser sends cookies and, in oidc mode, the session's CSRF token.
  const ID_KEY = "ayuda:identity";
  A.pageIdentity = function () {
    const q = new URLSearchParams(location.search);
    let saved = store(ID_KEY) || {};
    if (q.has("user") || q.has("groups")) {
      saved = { user: (q.get("user") || "").trim(), groups: (q.get("groups") || "").trim() };
      store(ID_KEY, saved);
    }
    return { user: saved.user || "", groups: saved.groups || "" };
  };
  const tag = document.currentScript;
  const meta = document.querySelector('meta[name="ayuda-auth"]');
  A.authMode = meta ? meta.getAttribute("content") || "dev" : null;  // null: not known yet (widget)
  A.csrf = "";
  if (A.authMode && A.authMode !== "dev") {
    A.identity = { user: meta.dataset.user || "", groups: meta.dataset.groups || "" };
    A.csrf = meta.dataset.csrf || "";
    A.identitySource = "server";
  }
  if (!A.identity && tag && tag.hasAttribute("data-user")) {  // the widget tag names the user
    A.identity = { user: (tag.dataset.user || "").trim(), groups: (tag.dataset.groups || "").trim() };
    A.identitySource = "tag";
  }
  A.identity = A.identity || A.pageIdentity();
  A.setIdentity = function (user, groups) {
    A.identity = { user: (user || "").trim(), groups: (groups || "").trim() };
    store(ID_KEY, A.identity);
  };
  A.devMode = function () { return !A.authMode || A.authMode === "dev"; };
  A.headers = function (extra, method) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    if (A.devMode()) {
      if (A.identity.user) h["X-Ayuda-User"] = A.identity.user;
      if (A.identity.groups) h["X-Ayuda-Groups"] = A.identity.groups;
    } else if (A.csrf && method && method !== "GET") {
      h["X-CSRF-Token"] = A.csrf;
    }
    return h;
  };
  A.loginUrl = function () {
    return `${A.config.base}/auth/login?next=${encodeURIComponent(location.href)}`;
  };
  /** The widget on another origin: learn the mode (and, outside dev mode, the user) once. A server that
   * can't be asked (older server, CORS `*` in dev mode) is taken to be in dev mode. */
  let sessionAsked = null;
  A.ensureSession = function () {
    if (A.authMode) return Promise.resolve();
    const ask = (credentials) => fetch(A.config.base + "/auth/session", { credentials, headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
    if (!sessionAsked) {
      // First without cookies (a dev server may allow any origin, never with credentials), then, for a
      // server that signs users in, with them.
      sessionAsked = ask("omit")
        .then((s) => (s && s.mode && s.mode !== "dev" ? ask("include").then((full) => full || s) : s))
        .then((s) => {
          A.authMode = (s && s.mode) || "dev";
          if (A.authMode !== "dev") {
            A.identity = { user: s.user || "", groups: (s.groups || []).join(",") };
            A.csrf = s.csrf_token || "";
            A.identitySource = "server";
          }
        });
    }
    return sessionAsked;
  };

  // --- API ------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
    /** The server could not be reached or failed on its side: the same request may succeed later. */
    get retryable() { return this.status === 0 || this.status === 429 || this.status >= 500; }
  }
  A.ApiError = ApiError;

  A.api = async function (path, options) {
    const o = options || {};
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), o.timeout || 30000);
    await A.ensureSession();
    const method = o.method || "GET";
    const init = { method, headers: A.headers(o.headers, method), credentials: A.devMode() ? "omit" : "include",
                   signal: controller.signal };
    if (o.body !== undefined) {
      init.body = JSON.stringify(o.body);
      init.headers["Content-Type"] = "application/json";
    }
    let res;
    try {
      res = await fetch(A.config.base + path, init);
    } catch (e) {
      throw new ApiError(0, "network", e && e.name === "AbortError" ? "timed out" : "network error");
    } finally {
      clearTimeout(timer);
    }
    if (o.raw) {
      if (!res.ok) throw new ApiError(res.status, "http_" + res.status, res.statusText);
      return res;
    }
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    if (!res.ok) throw httpError(res, data);
    return data;
  };

  /** The ApiError for a response that is not ok, from its {"error": {"code", "message"}} body. */
  function httpError(res, data) {
    const err = (data && data.error) || {};
    if (res.status === 401 && A.authMode === "oidc") document.dispatchEvent(new CustomEvent("ayuda:signin"));
    return new ApiError(res.status, err.code || "http_" + res.status, err.message || res.statusText || "error");
  }

  /** POST options.body as JSON to an endpoint that answers with Server-Sent Events; options.onEvent(name, data)
   * is called for each event (data parsed from JSON) and the promise resolves with the `final` event's data.
   * Errors: a response that is not ok throws the ApiError A.api would; an ok response that is not an event
   * stream (a server without streaming) throws an ApiError with `.unavailable`; a stream that breaks off, ends
   * without `final` or sends an `error` event throws a retryable ApiError with `.broken`. options.timeout: the
   * longest wait, in ms, for the response and then for each further piece of it (the server pings meanwhile). */
  A.stream = async function (path, options) {
    const o = options || {};
    const controller = new AbortController();
    let timer = null;
    const arm = () => { clearTimeout(timer); timer = setTimeout(() => controller.abort(), o.timeout || 30000); };
    arm();
    await A.ensureSession();
    const headers = A.headers(Object.assign({ Accept: "text/event-stream, application/json" }, o.headers), "POST");
    headers["Content-Type"] = "application/json";
    const init = { method: "POST", headers, body: JSON.stringify(o.body === undefined ? {} : o.body),
                   credentials: A.devMode() ? "omit" : "include", signal: controller.signal };
    const broken = (status, code, message) => Object.assign(new ApiError(status, code, message), { broken: true });
    let res;
    try {
      res = await fetch(A.config.base + path, init);
    } catch (e) {
      clearTimeout(timer);
      throw new ApiError(0, "network", e && e.name === "AbortError" ? "timed out" : "network error");
    }
    if (!res.ok) {
      clearTimeout(timer);
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      throw httpError(res, data);
    }
    if (!/^text\/event-stream/i.test(res.headers.get("Content-Type") || "") || !res.body) {
      clearTimeout(timer);
      try { await res.body?.cancel(); } catch (e) { /* nothing to read */ }
      throw Object.assign(new ApiError(res.status, "stream_unavailable", "streaming unavailable"), { unavailable: true });
    }
    // https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", name = "", data = [], final = null;
    const dispatch = () => {
      const event = name || "message", text = data.join("\n"), had = data.length;
      name = ""; data = [];
      if (!had) return;
      let parsed;
      try { parsed = JSON.parse(text); } catch (e) { throw broken(0, "stream_garbled", "the answer arrived garbled"); }
      if (event === "error") {
        const err = (parsed && parsed.error) || {};
        throw broken(500, err.code || "stream_error", err.message || "the answer failed");
      }
      if (event === "final") {
        if (!parsed || typeof parsed !== "object") throw broken(0, "stream_garbled", "the answer arrived garbled");
        final = parsed;
      }
      if (o.onEvent) o.onEvent(event, parsed);
    };
    const line = (l) => {
      if (l === "") return dispatch();
      if (l.startsWith(":")) return;  // a comment (sse-starlette's ": ping")
      const colon = l.indexOf(":");
      const field = colon < 0 ? l : l.slice(0, colon);
      let value = colon < 0 ? "" : l.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    };
    const lines = (end) => {  // whole lines only: a "\r" at the end may be half of a "\r\n"
      const eol = /\r\n|\r|\n/g;
      let start = 0, m;
      while (final === null && (m = eol.exec(buffer)) && (end || m[0] !== "\r" || m.index < buffer.length - 1)) {
        line(buffer.slice(start, m.index));
        start = eol.lastIndex;
      }
      buffer = buffer.slice(start);
    };
    try {
      while (final === null) {
        const { done, value } = await reader.read();
        arm();
        buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
        lines(done);
        if (done) break;
      }
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw broken(0, "network", e && e.name === "AbortError" ? "timed out" : "the answer was cut off");
    } finally {
      clearTimeout(timer);
      reader.cancel().catch(() => { /* already closed */ });
    }
    if (final === null) throw broken(0, "stream_ended", "the answer was cut off");
    return final;
  };

  A.uuid = function () {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };

  const docPath = (docId) => docId.split("/").map(encodeURIComponent).join("/");
  A.docPath = docPath;

  /** The help-center page for a citation: /help/doc/{doc_id}#{anchor}, the anchor taken from the
   * citation's intranet url (…#anchor). */
  A.helpLink = function (docId, url) {
    const hash = String(url || "").split("#")[1] || "";
    let link = `${A.config.base}/help/doc/${docPath(docId)}`;
    if (A.identitySource === "tag" && A.identity.user) {  // another origin: the help page can't read our storage
      const q = new URLSearchParams({ user: A.identity.user });
      if (A.identity.groups) q.set("groups", A.identity.groups);
      link += "?" + q.toString();
    }
    return hash ? `${link}#${encodeURIComponent(decodeURIComponent(hash))}` : link;
  };

  // --- DOM ------------------------------------------------------------------------------------------
  /** h("button", {class: "x", onclick: fn, "aria-label": "…"}, "text", node, [more]) — strings become text. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "hidden") el.hidden = Boolean(v);
      else if (k === "value") el.value = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  A.h = h;
  A.clear = function (el) { while (el.firstChild) el.removeChild(el.firstChild); return el; };
  /** Replace an element's children (null/false children are skipped, strings become text). */
  A.fill = function (el, ...children) { return append(A.clear(el), children); };

  /** An http(s) URL as a string, or null: no javascript:, data: or relative links from documents. */
  A.safeUrl = function (raw) {
    try {
      const url = new URL(String(raw).trim());
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  };

  // --- Markdown (a safe subset) → DOM ---------------------------------------------------------------
  // Blocks: headings, bullet and numbered lists, quotes, pipe tables, paragraphs. Inline: **bold**, *italic*,
  // `code`, [text](http…) links, bare http(s) URLs, and [n] citation markers (when `opts.cite` is given).
  const INLINE = /\*\*([^*\n]+?)\*\*|__([^_\n]+?)__|`([^`\n]+)`|\[([^\]\n]+)\]\(([^)\s]+)\)|\[(\d{1,3})\]|(https?:\/\/[^\s<>()"']*[^\s<>()"'.,;:!?])|(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])/g;

  function inline(parent, text, opts, depth) {
    let last = 0;
    INLINE.lastIndex = 0;
    const matches = [...String(text).matchAll(INLINE)];
    for (const m of matches) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      last = m.index + m[0].length;
      if (m[1] !== undefined || m[2] !== undefined) {
        const strong = h("strong");
        if (depth < 3) inline(strong, m[1] !== undefined ? m[1] : m[2], opts, depth + 1);
        else strong.textContent = m[1] || m[2];
        parent.appendChild(strong);
      } else if (m[3] !== undefined) {
        parent.appendChild(h("code", { text: m[3] }));
      } else if (m[4] !== undefined) {
        const href = A.safeUrl(m[5]);
        const target = href && opts.link ? opts.link(href) : href;
        if (target) parent.appendChild(linkTo(target, m[4]));
        else parent.appendChild(document.createTextNode(m[4]));
      } else if (m[6] !== undefined) {
        const node = opts.cite ? opts.cite(Number(m[6])) : null;
        parent.appendChild(node || document.createTextNode(m[0]));
      } else if (m[7] !== undefined) {
        const href = A.safeUrl(m[7]);
        const target = href && opts.link ? opts.link(href) : href;
        parent.appendChild(target ? linkTo(target, m[7]) : document.createTextNode(m[7]));
      } else if (m[8] !== undefined) {
        const em = h("em");
        if (depth < 3) inline(em, m[8], opts, depth + 1);
        else em.textContent = m[8];
        parent.appendChild(em);
      }
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
    return parent;
  }
  function linkTo(href, label) {
    const external = !href.startsWith(location.origin + "/") && !href.startsWith("/");
    return h("a", { href, target: external ? "_blank" : null, rel: external ? "noopener noreferrer" : null }, label);
  }

  const RE = {
    heading: /^(#{1,6})\s+(.*?)\s*#*\s*$/,
    bullet: /^\s*[-*+•]\s+(.*)$/,
    number: /^\s*(\d{1,3})[.)]\s+(.*)$/,
    quote: /^\s*>\s?(.*)$/,
    tableRow: /^\s*\|.*\|?\s*$/,
    tableSep: /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/,
    fence: /^\s*(```|~~~)/,
  };
  function cells(line) {
    let s = line.trim();
    if (s.startsWith("|")) s = s.slice(1);
    if (s.endsWith("|")) s = s.slice(0, -1);
    return s.split("|").map((c) => c.trim());
  }

  /** Markdown text → DocumentFragment. opts: {cite(n) → Node|null, link(url) → url, headingBase: 2}. */
  A.renderMarkdown = function (text, options) {
    const opts = options || {};
    const base = opts.headingBase || 2;
    const frag = document.createDocumentFragment();
    const lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
    let para = [];
    const flush = () => {
      if (para.length) frag.appendChild(inline(h("p"), para.join(" "), opts, 0));
      para = [];
    };
    for (let i = 0; i < lines.length; ) {
      const line = lines[i];
      let m;
      if (!line.trim()) { flush(); i++; continue; }
      if (RE.fence.test(line)) {
        flush();
        const body = [];
        i++;
        while (i < lines.length && !RE.fence.test(lines[i])) body.push(lines[i++]);
        i++;
        frag.appendChild(h("pre", {}, h("code", { text: body.join("\n") })));
        continue;
      }
      if ((m = RE.heading.exec(line))) {
        flush();
        const level = Math.min(6, base + m[1].length - 1);
        frag.appendChild(inline(h("h" + level), m[2], opts, 0));
        i++;
        continue;
      }
      if (RE.tableRow.test(line) && i + 1 < lines.length && RE.tableSep.test(lines[i + 1])) {
        flush();
        const table = h("table");
        const head = h("tr");
        for (const c of cells(line)) head.appendChild(inline(h("th", { scope: "col" }), c, opts, 0));
        table.appendChild(h("thead", {}, head));
        const body = h("tbody");
        i += 2;
        while (i < lines.length && RE.tableRow.test(lines[i]) && lines[i].includes("|")) {
          const row = h("tr");
          for (const c of cells(lines[i])) row.appendChild(inline(h("td"), c, opts, 0));
          body.appendChild(row);
          i++;
        }
        table.appendChild(body);
        frag.appendChild(h("div", { class: "md-table", tabindex: "0", role: "region", "aria-label": "table" }, table));
        continue;
      }
      if (RE.bullet.test(line) || RE.number.test(line)) {
        flush();
        const ordered = !RE.bullet.test(line);
        const list = h(ordered ? "ol" : "ul");
        if (ordered) {
          const start = Number(RE.number.exec(line)[1]);
          if (start !== 1) list.setAttribute("start", String(start));
        }
        while (i < lines.length) {
          const cur = lines[i];
          const item = ordered ? RE.number.exec(cur) : RE.bullet.exec(cur);
          if (item) {
            list.appendChild(inline(h("li"), ordered ? item[2] : item[1], opts, 0));
          } else if (cur.trim() && /^\s{2,}\S/.test(cur) && list.lastChild) {
            list.lastChild.appendChild(document.createTextNode(" "));
            inline(list.lastChild, cur.trim(), opts, 0);
          } else break;
          i++;
        }
        frag.appendChild(list);
        continue;
      }
      if (RE.quote.test(line)) {
        flush();
        const quoted = [];
        while (i < lines.length && (m = RE.quote.exec(lines[i]))) { quoted.push(m[1]); i++; }
        frag.appendChild(h("blockquote", {}, A.renderMarkdown(quoted.join("\n"), opts)));
        continue;
      }
      para.push(line.trim());
      i++;
    }
    flush();
    return frag;
  };

  /** Markdown markers dropped, for one-line snippets shown as plain text. */
  A.plainText = function (md) {
    return String(md || "").replace(/\[([^\]\n]+)\]\([^)\s]+\)/g, "$1").replace(/\*\*|__|`/g, "")
      .replace(/(^|\s)[-*+]\s+/g, "$1• ").replace(/\s+/g, " ").trim();
  };

  // --- page chrome: "signed in as …" switcher and language picker -----------------------------------
  A.identityBar = function (container, opts) {
    const o = opts || {};
    if (!A.devMode()) return A.signedInBar(container);
    const user = A.identity.user || o.defaultUser || "demo.employee@brightwave.example";
    const groups = A.identity.groups;
    const userInput = h("input", { id: "ay-id-user", name: "user", value: A.identity.user, autocomplete: "off",
                                   placeholder: o.defaultUser || "demo.employee@brightwave.example" });
    const groupsInput = h("input", { id: "ay-id-groups", name: "groups", value: groups, autocomplete: "off",
                                     placeholder: o.groupsHint || "it-agents, hr-agents" });
    const form = h("form", { class: "id-form" },
      h("p", { class: "hint", text: A.t("dev_identity") }),
      h("label", { for: "ay-id-user", text: A.t("user_label") }), userInput,
      h("label", { for: "ay-id-groups", text: A.t("groups_label") }), groupsInput,
      h("button", { type: "submit", class: "btn", text: A.t("save") }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      A.setIdentity(userInput.value, groupsInput.value);
      location.replace(location.pathname + location.hash);  // drop ?user= so the new identity sticks
    });
    const details = h("details", { class: "identity" },
      h("summary", {}, h("span", { class: "id-label", text: A.t("signed_in_as") + " " }),
        h("strong", { class: "id-user", text: user }),
        groups ? h("span", { class: "id-groups", text: " (" + groups + ")" }) : null,
        h("span", { class: "id-change", text: " · " + A.t("change") })),
      form);
    A.clear(container).appendChild(details);
    return details;
  };

  /** proxy/oidc modes: who the server says is signed in; no switcher (oidc: a sign-out button). */
  A.signedInBar = function (container) {
    const bar = h("div", { class: "identity signed-in" },
      h("span", { class: "id-label", text: A.t("signed_in_as") + " " }),
      h("strong", { class: "id-user", text: A.identity.user }));
    if (A.authMode === "oidc") {
      const out = h("button", { type: "button", class: "btn link id-signout", text: A.t("sign_out") });
      out.addEventListener("click", async () => {
        try { await A.api("/auth/logout", { method: "POST" }); } catch (e) { /* the cookie may be gone already */ }
        A.fill(bar, h("span", { class: "id-label", text: A.t("signed_out") + " · " }),
          h("a", { class: "id-signin", href: "/auth/login?next=" + encodeURIComponent(location.pathname),
                   text: A.t("sign_in") }));
      });
      bar.append(" · ", out);
    }
    A.clear(container).appendChild(bar);
    return bar;
  };

  A.languagePicker = function (onChange) {
    const select = h("select", { class: "lang-select", "aria-label": A.t("language") },
      A.LANGUAGES.map((code) => h("option", { value: code, selected: code === A.lang ? "selected" : null },
        code.toUpperCase() + " · " + TEXTS[code]["lang_" + code])));
    select.addEventListener("change", () => { A.setLanguage(select.value); if (onChange) onChange(select.value); });
    return select;
  };

  /** Fill every [data-t] element with its text in the current language. */
  A.translatePage = function (root) {
    document.documentElement.lang = A.lang;
    for (const el of (root || document).querySelectorAll("[data-t]")) el.textContent = A.t(el.dataset.t);
    for (const el of (root || document).querySelectorAll("[data-t-placeholder]")) {
      el.setAttribute("placeholder", A.t(el.dataset.tPlaceholder));
    }
    for (const el of (root || document).querySelectorAll("[data-t-label]")) {
      el.setAttribute("aria-label", A.t(el.dataset.tLabel));
    }
  };
})();
