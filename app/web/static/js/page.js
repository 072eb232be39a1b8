/* Page chrome for the full pages: navigation, "signed in as …" (development identity) and the language. */
(function () {
  "use strict";
  const A = window.Ayuda;
  A.page = function (opts) {
    const o = opts || {};
    const groups = (A.identity.groups || "").split(",").map((g) => g.trim()).filter(Boolean);
    const isAgent = groups.some((g) => g.endsWith("-agents") || g === "hr-confidential");
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === "agent" && !isAgent && o.current !== "agent") link.hidden = true;
      if (link.dataset.nav === "admin" && !groups.includes("admins") && o.current !== "admin") link.hidden = true;
      if (link.dataset.nav === o.current) link.setAttribute("aria-current", "page");
    }
    const who = document.getElementById("identity");
    if (who) A.identityBar(who, o);
    const lang = document.getElementById("lang");
    if (lang && o.languages !== false) {
      A.clear(lang).appendChild(A.languagePicker());
    }
    if (o.languages !== false) A.translatePage();
    document.addEventListener("ayuda:language", () => {
      const select = lang && lang.querySelector("select");
      if (select) select.value = A.lang;
      A.translatePage();
      if (o.onLanguage) o.onLanguage();
    });
  };
})();
