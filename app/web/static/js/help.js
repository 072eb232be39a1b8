/* Help center: /help (browse by department, search) and /help/doc/{doc_id} (a document with section anchors).
 * Document text is rendered by Ayuda.renderMarkdown, which only creates elements and text nodes. */
(function () {
  "use strict";
  const A = window.Ayuda;
  const h = A.h;
  const t = (k, p) => A.t(k, p);
  const $ = (id) => document.getElementById(id);
  const docPath = (id) => id.split("/").map(encodeURIComponent).join("/");
  const docHref = (id, anchor) => `/help/doc/${docPath(id)}${anchor ? "#" + encodeURIComponent(anchor) : ""}`;

  function showError(err) {
    const box = $("status");
    box.className = "status error";
    box.textContent = err.status === 404 ? t("doc_not_found")
      : err.retryable && err.status === 0 ? t("offline") : t("server_error", { message: err.message });
  }
  function setStatus(text) { const box = $("status"); box.className = "status"; box.textContent = text || ""; }

  // --- /help -----------------------------------------------------------------------------------------
  function helpHome() {
    let data = null;
    let current = new URLSearchParams(location.search).get("dept") || "";
    let lastSearch = null;

    function renderDepartments() {
      const nav = A.clear($("departments"));
      const total = data.departments.reduce((n, d) => n + d.documents.length, 0);
      const link = (code, label, count) => h("a", {
        href: code ? `?dept=${encodeURIComponent(code)}` : "/help", "aria-current": String(current === code),
        onclick: (e) => { e.preventDefault(); current = code; history.replaceState(null, "", code ? `?dept=${encodeURIComponent(code)}` : "/help"); renderDepartments(); renderDocs(); },
      }, h("span", { text: label }), h("span", { class: "count", text: String(count) }));
      nav.appendChild(link("", t("all_departments"), total));
      for (const d of data.departments) nav.appendChild(link(d.department, A.department(d.department), d.documents.length));
    }

    function renderDocs() {
      const box = A.clear($("docs"));
      for (const d of data.departments) {
        if (current && d.department !== current) continue;
        box.appendChild(h("section", { class: "dept", id: `dept-${d.department}`, "aria-labelledby": `h-${d.department}` },
          h("h2", { id: `h-${d.department}` }, A.department(d.department), " ",
            h("span", { class: "muted", text: "· " + t("documents", { n: d.documents.length }) })),
          h("ul", { class: "doc-list" }, d.documents.map((doc) => h("li", {},
            h("a", { href: docHref(doc.doc_id), lang: doc.language || null },
              h("span", { class: "doc-title", text: doc.title }),
              h("span", { class: "doc-meta" }, h("span", { class: "lang-tag", text: doc.language || "?" }), " ",
                doc.updated ? `${t("last_updated")}: ${A.formatDate(doc.updated)}` : "",
                doc.owner ? ` · ${doc.owner}` : "")))))));
      }
    }

    async function search(q) {
      const box = $("results");
      lastSearch = q;
      if (!q) { box.hidden = true; history.replaceState(null, "", location.pathname); return; }
      history.replaceState(null, "", `?q=${encodeURIComponent(q)}`);
      setStatus(t("loading"));
      try {
        const res = await A.api(`/api/v1/search?q=${encodeURIComponent(q)}&k=10`);
        setStatus("");
        A.clear(box).hidden = false;
        box.appendChild(h("h2", { id: "results-title", text: t("results_for", { q }) }));
        if (!res.hits.length) { box.appendChild(h("p", { class: "muted", text: t("no_results") })); return; }
        box.appendChild(h("ol", {}, res.hits.map((hit) => h("li", { lang: hit.language },
          h("a", { class: "hit-title", href: docHref(hit.doc_id, (hit.url.split("#")[1] || "")) },
            hit.title, hit.section && hit.section !== hit.title ? ` › ${hit.section}` : ""),
          h("div", { class: "hit-meta" }, h("span", { class: "lang-tag", text: hit.language }), " ", A.department(hit.department)),
          h("p", { class: "hit-snippet", text: A.plainText(hit.snippet) })))));
      } catch (err) { showError(err); }
    }

    $("search").addEventListener("submit", (e) => { e.preventDefault(); search($("q").value.trim()); });
    A.page({ current: "help", onLanguage: () => { if (data) { renderDepartments(); renderDocs(); } if (lastSearch) search(lastSearch); } });
    setStatus(t("loading"));
    A.api("/api/v1/docs").then((d) => {
      data = d;
      setStatus("");
      if (current && !d.departments.some((x) => x.department === current)) current = "";
      renderDepartments();
      renderDocs();
    }).catch(showError);
    const q = new URLSearchParams(location.search).get("q");
    if (q) { $("q").value = q; search(q); }
  }

  // --- /help/doc/{doc_id} ----------------------------------------------------------------------------
  function docPage() {
    const docId = location.pathname.slice("/help/doc/".length).split("/").map(decodeURIComponent).join("/");
    let doc = null;
    let urls = new Map();

    function linkMap(href) {
      const [base, hash] = href.split("#");
      const id = urls.get(base.replace(/\/$/, ""));
      return id ? docHref(id, hash ? decodeURIComponent(hash) : "") : href;
    }

    function highlight() {
      const anchor = decodeURIComponent(location.hash.slice(1));
      for (const el of document.querySelectorAll(".is-target")) el.classList.remove("is-target");
      if (!anchor) return;
      const target = document.getElementById(anchor);
      if (!target) return;
      target.classList.add("is-target");
      target.scrollIntoView({ block: "start" });
    }

    function render() {
      const art = A.clear($("doc"));
      document.title = `${doc.title} · Ayuda`;
      A.fill($("crumb-dept"), "› ", h("a", { href: `/help?dept=${encodeURIComponent(doc.department)}`,
                                                       text: A.department(doc.department) }));
      art.lang = doc.language || "";
      art.appendChild(h("h1", { text: doc.title }));
      const fact = (label, value) => value ? h("div", {}, h("dt", { text: label + ":" }), h("dd", {}, value)) : null;
      const intranet = A.safeUrl(doc.url);
      art.appendChild(h("dl", { class: "doc-facts" },
        fact(t("last_updated"), doc.updated ? h("time", { datetime: doc.updated, text: A.formatDate(doc.updated) }) : null),
        fact(t("owner"), doc.owner),
        fact(t("language"), t("lang_" + doc.language) !== "lang_" + doc.language ? t("lang_" + doc.language) : doc.language),
        intranet ? h("div", {}, h("a", { href: intranet, target: "_blank", rel: "noopener noreferrer", text: t("on_intranet") })) : null));
      if (doc.translations.length) {
        art.appendChild(h("p", { class: "translations" }, t("also_in") + ": ",
          doc.translations.map((tr) => h("a", { href: docHref(tr.doc_id), lang: tr.language, hreflang: tr.language },
            h("span", { class: "lang-tag", text: tr.language }), " ", tr.title))));
      }
      const seen = new Set();
      const toc = [];
      for (const s of doc.sections) {
        let id = s.anchor;
        for (let n = 2; seen.has(id); n++) id = `${s.anchor}-${n}`;
        seen.add(id);
        const section = h("section", { id, "aria-label": s.level ? s.heading : null });
        if (s.level > 0) {
          const level = Math.min(6, s.level + 1);
          section.appendChild(h("h" + level, {}, s.heading,
            h("a", { class: "heading-link", href: `#${encodeURIComponent(id)}`, "aria-label": `${t("section")}: ${s.heading}` }, "#")));
          if (s.level <= 3) toc.push({ id, text: s.heading, level: s.level });
        }
        section.appendChild(A.renderMarkdown(s.text, { headingBase: Math.min(6, s.level + 2), link: linkMap }));
        art.appendChild(section);
      }
      art.hidden = false;
      const nav = A.clear($("toc"));
      nav.hidden = toc.length < 2;
      nav.append(h("h2", { id: "toc-title", text: t("contents") }),
        h("ol", {}, toc.map((e) => h("li", { class: `lvl-${e.level}` }, h("a", { href: `#${encodeURIComponent(e.id)}`, text: e.text })))));
      highlight();
    }

    window.addEventListener("hashchange", highlight);
    A.page({ current: "help", onLanguage: () => { if (doc) render(); } });
    setStatus(t("loading"));
    const list = A.api("/api/v1/docs").then((d) => {
      urls = new Map(d.departments.flatMap((dep) => dep.documents.filter((x) => x.url)
        .map((x) => [x.url.replace(/\/$/, ""), x.doc_id])));
    }).catch(() => { /* links then go to the intranet */ });
    Promise.all([A.api(`/api/v1/docs/${docPath(docId)}`), list]).then(([d]) => {
      doc = d;
      setStatus("");
      render();
    }).catch(showError);
  }

  if (document.getElementById("doc")) docPage(); else helpHome();
})();
