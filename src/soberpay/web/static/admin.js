// Back office forms: each <form data-api=URL data-method=VERB> is sent as JSON with the CSRF token.
// data-type="yuan" fields become integer fen (parsed as text: no float rounding), "number" numbers,
// "bool" booleans; checkboxes are booleans. The page reloads on success, an error shows in the toast.
(function () {
  "use strict";
  function csrf() { var m = document.querySelector("meta[name=csrf-token]"); return m ? m.content : ""; }
  function toast(text) {
    var t = document.getElementById("toast");
    if (!t) { return; }
    t.textContent = text; t.hidden = false;
  }
  function fen(text) {
    var m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
    if (!m) { return null; }
    return parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
  }
  document.querySelectorAll("form[data-api]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = {};
      for (var i = 0; i < form.elements.length; i++) {
        var el = form.elements[i];
        if (!el.name) { continue; }
        var kind = el.dataset.type;
        if (el.type === "checkbox") { body[el.name] = el.checked; }
        else if (kind === "yuan") {
          var v = fen(el.value);
          if (v === null) { toast(el.getAttribute("aria-label") || el.name); return; }
          body[el.name] = v;
        } else if (kind === "number") { body[el.name] = Number(el.value); }
        else if (kind === "bool") { body[el.name] = el.value === "true"; }
        else if (el.value !== "" || el.name.indexOf("source") < 0) { body[el.name] = el.value; }
      }
      fetch(form.dataset.api, {
        method: form.dataset.method || "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify(body)
      }).then(function (r) {
        if (r.ok) { location.reload(); return null; }
        return r.json().then(function (e) { toast(e.message || String(r.status)); });
      }).catch(function (e) { toast(String(e)); });
    });
  });
})();
