/* soberpay pages: small vanilla JS, no build step, no external resources. */
(function () {
  "use strict";
  var I18N = JSON.parse(document.getElementById("i18n").textContent);
  function t(k) { return I18N[k] || k; }
  function $(s, r) { return (r || document).querySelector(s); }
  function $$(s, r) { return Array.prototype.slice.call((r || document).querySelectorAll(s)); }
  function fen(v) { return "¥" + (v / 100).toFixed(2); }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function csrf() { var m = $("meta[name=csrf-token]"); return m ? m.content : ""; }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function api(method, url, opts) {
    opts = opts || {};
    var headers = Object.assign({ "X-CSRF-Token": csrf() }, opts.headers || {});
    var body;
    if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(opts.json); }
    else if (opts.form) { body = opts.form; }
    return fetch(url, { method: method, headers: headers, body: body, credentials: "same-origin" }).then(function (r) {
      var ct = r.headers.get("content-type") || "";
      var p = r.status !== 204 && ct.indexOf("json") >= 0 ? r.json() : Promise.resolve(null);
      return p.then(function (data) {
        if (!r.ok) {
          var e = new Error((data && data.message) || r.statusText || t("err.generic"));
          e.status = r.status; e.code = data && data.error; e.data = data;
          throw e;
        }
        return data;
      });
    });
  }

  var toastTimer = null;
  function toast(msg, kind) {
    var el = $("#toast");
    el.textContent = msg; el.className = kind || ""; el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, 4000);
  }

  $$("[data-close]").forEach(function (b) {
    b.addEventListener("click", function () { var d = b.closest("dialog"); if (d) d.close(); });
  });

  // --- camera helpers (frames stay in the browser's memory until sent) -------------------------
  function startCamera(video) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return Promise.resolve(null);
    return navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false })
      .then(function (s) { video.srcObject = s; return s; })
      .catch(function () { return null; });
  }
  function stopCamera(stream) { if (stream) stream.getTracks().forEach(function (tr) { tr.stop(); }); }
  function grab(video) {
    return new Promise(function (resolve) {
      if (!video || !video.videoWidth) return resolve(null);
      var c = document.createElement("canvas");
      c.width = video.videoWidth; c.height = video.videoHeight;
      c.getContext("2d").drawImage(video, 0, 0);
      c.toBlob(function (b) { resolve(b); }, "image/jpeg", 0.9);
    });
  }

  var page = document.body.dataset.page;

  // --- enrolment kiosk -------------------------------------------------------------------------
  if (page === "kiosk") {
    var guest = null, stream = null, photos = [], qualityTimer = null;
    var video = $("#camera");
    function updateCount() { $("#photo-count").textContent = photos.length; $("#enrol-btn").disabled = photos.length === 0; }

    $("#register-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target, err = $("#register-error");
      err.textContent = "";
      var consents = $$("input[name=consent]:checked", f).map(function (c) { return c.value; });
      var body = {
        name: f.name.value, phone: f.phone.value, national_id: f.national_id.value, password: f.password.value,
        sex: f.sex.value || null, weight_kg: f.weight_kg.value ? Number(f.weight_kg.value) : null, consents: consents,
        // the consent texts this page showed: recorded with each consent
        consent_version: f.dataset.consentVersion, consent_language: f.dataset.consentLanguage
      };
      api("POST", "/api/guests", { json: body }).then(function (g) {
        guest = g;
        f.hidden = true;
        $("#enrol").hidden = false;
        $("#welcome").textContent = t("kiosk.registered") + " " + g.name;
        if (consents.indexOf("face_payment") >= 0) {
          $("#face-step").hidden = false;
          startCamera(video).then(function (s) {
            stream = s;
            if (!s) { $("#camera-status").textContent = t("kiosk.camera_off"); video.hidden = true; return; }
            qualityTimer = setInterval(checkQuality, 2500);
          });
        } else {
          $("#no-face").hidden = false; $("#done").hidden = false;
        }
      }).catch(function (e) { err.textContent = e.message; });
    });

    function showQuality(q) {
      var el = $("#quality");
      el.textContent = t("kiosk.quality") + ": " + q.message;
      el.className = "quality " + (q.ok ? "good" : "bad");
    }
    function checkQuality() {
      grab(video).then(function (blob) {
        if (!blob) return;
        var fd = new FormData(); fd.append("file", blob, "frame.jpg");
        api("POST", "/api/face/quality", { form: fd }).then(showQuality).catch(function (e) {
          if (e.status !== 429) showQuality({ ok: false, message: e.message });
        });
      });
    }
    $("#capture-btn").addEventListener("click", function () {
      grab(video).then(function (blob) { if (blob) { photos.push(blob); updateCount(); } });
    });
    $("#face-files").addEventListener("change", function (ev) {
      Array.prototype.forEach.call(ev.target.files, function (f) { photos.push(f); });
      updateCount();
      if (ev.target.files.length) {
        var fd = new FormData(); fd.append("file", ev.target.files[0], ev.target.files[0].name);
        api("POST", "/api/face/quality", { form: fd }).then(showQuality).catch(function (e) {
          showQuality({ ok: false, message: e.message });
        });
      }
    });
    $("#enrol-btn").addEventListener("click", function () {
      var fd = new FormData();
      photos.slice(0, 10).forEach(function (p, i) { fd.append("files", p, p.name || ("photo" + i + ".jpg")); });
      $("#enrol-error").textContent = "";
      api("POST", "/api/guests/" + guest.guest_id + "/face", { form: fd, headers: { "X-Guest-Token": guest.guest_token } })
        .then(function (r) {
          clearInterval(qualityTimer); stopCamera(stream);
          $("#face-step").hidden = true;
          $("#done").hidden = false;
          $("#done").textContent = t("kiosk.enrolled") + " " + r.templates_stored + ". " + t("kiosk.done");
        })
        .catch(function (e) { $("#enrol-error").textContent = e.message; photos = []; updateCount(); });
    });
  }

  // --- room touchscreen -----------------------------------------------------------------------
  if (page === "room") {
    var room = document.body.dataset.room;
    var base = "/api/rooms/" + room;
    var menu = {};
    JSON.parse($("#menu-data").textContent).forEach(function (m) { menu[m.id] = m; });
    var lang = document.documentElement.lang.indexOf("zh") === 0 ? "zh" : "en";
    function itemName(m) { return lang === "zh" ? m.name_zh : m.name; }
    var cart = [];  // {item, qty, key}
    var g = null;   // {id, name, token}
    var risk = null;
    var roomStream = null;
    var poll = null;

    function gh() { return { "X-Guest-Token": g ? g.token : "" }; }
    function isLocked(m) {
      return !!(risk && risk.high_price_locked && (m.high_price || m.category === "liquor"));
    }
    function lockMessage() {
      if (!risk || risk.state === "normal") return "";
      return "⚠ " + t("room.state." + risk.state) + (risk.reason ? " — " + risk.reason : "");
    }
    function renderLocks() {
      $$(".item").forEach(function (b) {
        var locked = isLocked(menu[b.dataset.item]);
        b.classList.toggle("locked", locked);
        $(".lock", b).hidden = !locked;
      });
      var banner = $("#lock-banner"), msg = lockMessage();
      banner.hidden = !msg; banner.textContent = msg;
      if (g) {
        $("#guest-state").textContent = t("state." + (risk ? risk.state : "normal"));
        $("#guest-state").className = "state s-" + (risk ? risk.state : "normal");
      }
    }
    function renderCart() {
      var ul = $("#cart-lines");
      if (!cart.length) { ul.innerHTML = '<li class="muted">' + esc(t("room.cart_empty")) + "</li>"; }
      else {
        ul.innerHTML = cart.map(function (l, i) {
          return '<li><span>' + esc(itemName(l.item)) + " ×" + l.qty + (isLocked(l.item) ? " ⚠" : "") +
            '</span><span class="num">' + fen(l.item.price_fen * l.qty) +
            ' <button class="mini" data-del="' + i + '" aria-label="' + esc(t("room.delete")) + '">✕</button></span></li>';
        }).join("");
      }
      $("#cart-total").textContent = fen(cart.reduce(function (s, l) { return s + l.item.price_fen * l.qty; }, 0));
    }
    $("#cart-lines").addEventListener("click", function (ev) {
      var i = ev.target.dataset.del;
      if (i !== undefined) { cart.splice(Number(i), 1); renderCart(); }
    });
    $$(".item").forEach(function (b) {
      b.addEventListener("click", function () {
        var m = menu[b.dataset.item];
        var line = cart.find(function (l) { return l.item.id === m.id; });
        if (line) { line.qty += 1; line.key = newKey(); } else cart.push({ item: m, qty: 1, key: newKey() });
        if (isLocked(m)) toast(lockMessage(), "warn");
        renderCart();
      });
    });
    $("#cart-clear").addEventListener("click", function () { cart = []; renderCart(); });

    function setGuest(r, face) {
      g = { id: r.guest_id, name: r.name, token: r.guest_token, face: face || null };
      risk = { state: r.risk_state, high_price_locked: r.high_price_locked, reason: "" };
      $("#guest-name").textContent = r.name;
      $("#guest-bar").hidden = false;
      refreshRisk(); refreshPending();
      clearInterval(poll);
      poll = setInterval(function () { refreshRisk(); }, 4000);
    }
    function clearGuest() {
      g = null; risk = null; clearInterval(poll);
      stopCamera(roomStream); roomStream = null;
      $("#guest-bar").hidden = true; $("#pending").hidden = true; $("#results").innerHTML = "";
      renderLocks(); renderCart();
    }
    $("#guest-done").addEventListener("click", clearGuest);
    function guestError(e) {
      if (e.status === 401 && g) { clearGuest(); }
      toast(e.message, "bad");
    }
    function refreshRisk() {
      if (!g) return Promise.resolve();
      return api("GET", base + "/me", { headers: gh() }).then(function (r) {
        var was = risk && risk.state;
        risk = r; renderLocks(); renderCart();
        if (was && was !== r.state) refreshPending();
      }).catch(guestError);
    }
    function refreshPending() {
      if (!g) return;
      api("GET", base + "/pending", { headers: gh() }).then(function (list) {
        var open = list.filter(function (p) { return p.status === "pending"; });
        var sec = $("#pending");
        sec.hidden = open.length === 0;
        var canAct = risk && risk.state === "normal";
        $("#pending-hint").textContent = canAct ? t("room.pending_hint") : t("room.pending_wait");
        $("#pending-list").innerHTML = open.map(function (p) {
          return '<li data-pending="' + esc(p.id) + '"><span>' + esc(p.item_name) + " ×" + p.quantity + " · " + fen(p.amount_fen) +
            "</span>" + (canAct ? '<span class="row"><button class="btn primary" data-confirm="' + esc(p.id) + '">' + esc(t("room.confirm")) +
            '</button><button class="btn" data-discard="' + esc(p.id) + '">' + esc(t("room.discard")) + "</button></span>" : "") + "</li>";
        }).join("");
      }).catch(guestError);
    }
    $("#pending-list").addEventListener("click", function (ev) {
      var c = ev.target.dataset.confirm, d = ev.target.dataset.discard;
      if (c) {
        confirmPending(c, null);
      } else if (d) {
        api("POST", base + "/pending/" + d + "/discard", { headers: gh() })
          .then(function () { refreshPending(); }).catch(guestError);
      }
    });

    function confirmPending(id, password) {
      purchaseForm({ idempotency_key: "confirm-" + id, password: password }, !!(g && g.face)).then(function (fd) {
        return api("POST", base + "/pending/" + id + "/confirm", { form: fd, headers: gh() });
      }).then(function (o) {
        if (o.outcome === "charged") { addResult("ok", "✔ " + t("room.charged") + " " + fen(o.charged_fen), o.explanation); }
        else if (o.outcome === "verification_required" || o.outcome === "password_rejected") {
          return askPassword(o.explanation).then(function (pw) { if (pw) confirmPending(id, pw); });
        } else { addResult("bad", "✖", o.explanation); }
        refreshPending(); refreshRisk();
      }).catch(guestError);
    }
    function addResult(kind, title, detail) {
      var li = document.createElement("li");
      li.className = kind;
      li.innerHTML = "<b>" + esc(title) + "</b><br><span class='small'>" + esc(detail || "") + "</span>";
      $("#results").prepend(li);
    }

    // password pad (dual verification)
    var digits = "", padResolve = null;
    function renderDots() { $("#password-dots").textContent = "●".repeat(digits.length) + "○".repeat(6 - digits.length); }
    function askPassword(message) {
      digits = ""; renderDots();
      $("#password-msg").textContent = message || "";
      $("#password-dialog").showModal();
      return new Promise(function (resolve) { padResolve = resolve; });
    }
    $$(".pad .key").forEach(function (k) {
      k.addEventListener("click", function () {
        if (k.dataset.digit && digits.length < 6) digits += k.dataset.digit;
        if (k.dataset.action === "clear") digits = digits.slice(0, -1);
        renderDots();
        if (k.dataset.action === "ok" && digits.length === 6) {
          var pw = digits; digits = "";
          $("#password-dialog").close("ok");
          if (padResolve) { padResolve(pw); padResolve = null; }
        }
      });
    });
    $("#password-dialog").addEventListener("close", function () {
      if (padResolve) { padResolve(null); padResolve = null; }
    });

    function faceFrame() {
      // a fresh frame when the camera is live, else the photo used to identify the guest
      var v = $("#room-camera");
      if (roomStream && v.videoWidth) return grab(v).then(function (b) { return b || (g && g.face); });
      return Promise.resolve(g ? g.face : null);
    }
    function purchaseForm(fields, withFace) {
      var fd = new FormData();
      Object.keys(fields).forEach(function (k) { if (fields[k] != null) fd.append(k, fields[k]); });
      if (!withFace) return Promise.resolve(fd);
      return faceFrame().then(function (b) { if (b) fd.append("face", b, b.name || "face.jpg"); return fd; });
    }
    function buyLine(line, password, withFace) {
      var fields = { item_id: line.item.id, quantity: line.qty, idempotency_key: line.key, password: password || null };
      return purchaseForm(fields, withFace).then(function (fd) {
        return api("POST", base + "/purchases", { form: fd, headers: gh() });
      }).then(function (o) {
        var name = itemName(line.item) + " ×" + line.qty;
        if (o.outcome === "charged") { addResult("ok", "✔ " + t("room.charged") + ": " + name + " " + fen(o.charged_fen || o.amount_fen), o.explanation); return "done"; }
        if (o.outcome === "suspended") { addResult("warn", "⚠ " + name + " — " + t("room.suspended"), o.explanation); refreshPending(); return "done"; }
        if (o.outcome === "verification_required" || o.outcome === "password_rejected") {
          var needFace = withFace || (o.requires || []).indexOf("face") >= 0;
          if (needFace && !(g && g.face)) { addResult("bad", "✖ " + name, o.explanation + " — " + t("room.pay_face")); return "stop"; }
          var needPw = o.outcome === "password_rejected" || (o.requires || []).indexOf("password") >= 0;
          if (!needPw) return buyLine(line, null, true);
          return askPassword(o.explanation).then(function (pw) { return pw ? buyLine(line, pw, needFace) : "stop"; });
        }
        addResult("bad", "✖ " + name, o.explanation);
        return "stop";
      });
    }
    function payCart() {
      if (!g) return;
      var lines = cart.slice();
      var chain = Promise.resolve("done");
      lines.forEach(function (line) {
        chain = chain.then(function (st) {
          if (st === "stop") return "stop";
          return buyLine(line, null, false).then(function (r) {
            if (r === "done") { cart = cart.filter(function (l) { return l !== line; }); renderCart(); }
            return r;
          });
        });
      });
      return chain.catch(guestError).then(function () { refreshRisk(); });
    }

    $("#pay-face").addEventListener("click", function () {
      if (g) { payCart(); return; }
      $("#identify-error").textContent = "";
      $("#identify-file").value = "";
      $("#identify-dialog").showModal();
      startCamera($("#room-camera")).then(function (s) { roomStream = s; $("#room-camera").hidden = !s; });
    });
    $("#identify-dialog").addEventListener("close", function () { if (!g) { stopCamera(roomStream); roomStream = null; } });
    $("#identify-go").addEventListener("click", function () {
      var file = $("#identify-file").files[0];
      var p = file ? Promise.resolve(file) : grab($("#room-camera"));
      p.then(function (blob) {
        if (!blob) { $("#identify-error").textContent = t("kiosk.camera_off"); return; }
        var fd = new FormData(); fd.append("file", blob, blob.name || "frame.jpg");
        return api("POST", base + "/identify/face", { form: fd }).then(function (r) {
          setGuest(r, blob); $("#identify-dialog").close(); return payCart();
        });
      }).catch(function (e) { $("#identify-error").textContent = e.message; });
    });
    $("#pay-phone").addEventListener("click", function () {
      if (g) { payCart(); return; }
      $("#phone-error").textContent = "";
      $("#phone-dialog").showModal();
    });
    $("#phone-go").addEventListener("click", function () {
      api("POST", base + "/identify/phone", { json: { phone: $("#phone-input").value, password: $("#phone-password").value } })
        .then(function (r) { $("#phone-dialog").close(); $("#phone-password").value = ""; setGuest(r); return payCart(); })
        .catch(function (e) { $("#phone-error").textContent = e.message; });
    });
    renderCart();
  }

  // --- staff -------------------------------------------------------------------------------------
  if (page === "staff-login") {
    $("#login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target;
      api("POST", "/api/auth/login", { json: { username: f.username.value, password: f.password.value } })
        .then(function () { location.href = "/staff"; })
        .catch(function (e) { $("#login-error").textContent = e.message; });
    });
  }

  function setupOverride(after) {
    var dlg = $("#override-dialog");
    if (!dlg) return;
    var target = null;
    document.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-override]");
      if (!b) return;
      target = b.dataset.override;
      $("#override-guest").textContent = b.dataset.name || target;
      $("#override-reason").value = ""; $("#override-error").textContent = "";
      dlg.showModal();
    });
    $("#override-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var reason = $("#override-reason").value.trim();
      if (reason.length < 3) { $("#override-error").textContent = t("staff.reason") + "?"; return; }
      api("POST", "/api/staff/guests/" + target + "/override", { json: { action: $("#override-action").value, reason: reason } })
        .then(function (r) { dlg.close(); toast(t("staff.override") + ": " + t("state." + r.state), "ok"); after(); })
        .catch(function (e) { $("#override-error").textContent = e.message; });
    });
  }

  if (page === "staff") {
    var manager = document.body.dataset.role === "manager";
    function loadRooms() {
      api("GET", "/api/rooms").then(function (rooms) {
        $("#rooms").innerHTML = rooms.map(function (r) {
          var l = r.live || {};
          return '<div class="room-card' + (l.running ? " live" : "") + '"><b>' + esc(r.name) + "</b> <span class='muted'>" + esc(r.room_id) + "</span><br>" +
            (r.live ? (l.running ? "● " : "○ ") + "fps " + (l.fps || 0).toFixed(1) + " · lag " + Math.round((l.lag_s || 0) * 1000) + " ms · dropped " + (l.dropped || 0) +
              " · faces " + (l.faces || 0) + " · present " + (l.present || []).length + (l.last_error ? "<br><span class='small bad'>" + esc(l.last_error) + "</span>" : "")
              : "<span class='muted'>no camera</span>") +
            (manager ? '<br><button class="btn mini-btn" data-token="' + esc(r.room_id) + '">' + esc(t("staff.issue_token")) + "</button>" : "") + "</div>";
        }).join("") || '<p class="muted">' + esc(t("staff.none")) + "</p>";
      }).catch(function () {});
    }
    var names = {};
    function loadSuspended() {
      api("GET", "/api/staff/suspended").then(function (list) {
        $("#suspended").innerHTML = list.map(function (p) {
          return "<tr><td>" + esc(p.created_at.slice(11, 19)) + "</td><td><a href='/staff/guests/" + esc(p.guest_id) + "'>" + esc(names[p.guest_id] || p.guest_id.slice(0, 8)) +
            "</a></td><td>" + esc(p.item_name) + " ×" + p.quantity + "</td><td class='num'>" + fen(p.amount_fen) + "</td><td>" + esc(p.reason) + "</td></tr>";
        }).join("") || "<tr><td colspan=5 class='muted'>" + esc(t("staff.none")) + "</td></tr>";
      }).catch(function () {});
    }
    function loadGuests() {
      return api("GET", "/api/staff/guests").then(function (list) {
        list.forEach(function (x) { names[x.guest_id] = x.name; });
        $("#guests").innerHTML = list.map(function (x) {
          return "<tr><td><a href='/staff/guests/" + esc(x.guest_id) + "'>" + esc(x.name) + "</a></td><td><span class='state s-" + esc(x.state) + "'>" +
            esc(t("state." + x.state)) + "</span></td><td>" + esc(x.reason) + "</td><td class='num'>" + fen(x.balance_fen) +
            "</td><td><button class='btn' data-override='" + esc(x.guest_id) + "' data-name='" + esc(x.name) + "'>" + esc(t("staff.override")) +
            "</button><button class='btn' data-topup='" + esc(x.guest_id) + "' data-name='" + esc(x.name) + "'>" + esc(t("staff.topup")) + "</button></td></tr>";
        }).join("") || "<tr><td colspan=5 class='muted'>" + esc(t("staff.none")) + "</td></tr>";
      }).catch(function () {});
    }
    function refresh() { return loadGuests().then(loadSuspended); }
    loadRooms();
    setInterval(loadRooms, 3000);
    setInterval(refresh, 10000);
    setupOverride(refresh);
    var feed = $("#alerts"), first = true, refreshTimer = null;
    function startAlerts() {
      var es = new EventSource("/api/staff/alerts/stream");
      es.onopen = function () { $("#sse-state").classList.add("on"); };
      es.onerror = function () { $("#sse-state").classList.remove("on"); };
      es.addEventListener("alert", function (ev) {
        var a = JSON.parse(ev.data);
        if (first) { feed.innerHTML = ""; first = false; }
        var li = document.createElement("li");
        li.className = "k-" + a.kind;
        li.innerHTML = "<span class='time'>" + esc(a.at.slice(11, 19)) + "</span> <b>" + esc(a.kind) + "</b> " + esc(a.message) +
          (a.guest_id ? " <a href='/staff/guests/" + esc(a.guest_id) + "'>" + esc(names[a.guest_id] || a.guest_id.slice(0, 8)) + "</a>" : "") +
          (a.room_id ? " <span class='muted'>" + esc(a.room_id) + "</span>" : "") +
          (a.acknowledged ? " <span class='muted'>✔</span>" : " <button class='mini ack' data-ack='" + a.id + "'>✔ " + esc(t("staff.ack")) + "</button>");
        feed.prepend(li);
        clearTimeout(refreshTimer);
        refreshTimer = setTimeout(refresh, 300);  // one refresh per burst of alerts
      });
    }
    refresh().then(startAlerts);
    feed.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-ack]");
      if (!b) return;
      api("POST", "/api/staff/alerts/" + b.dataset.ack + "/ack").then(function () {
        b.outerHTML = "<span class='muted'>✔</span>";
      }).catch(function (e) { toast(e.message, "bad"); });
    });
    document.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-token]");
      if (!b) return;
      api("POST", "/api/rooms/" + b.dataset.token + "/tokens").then(function (r) {
        $("#token-out").textContent = r.room_id + ": " + r.token + "  →  " + location.origin + "/room/" + r.room_id;
      }).catch(function (e) { toast(e.message, "bad"); });
    });
    var topupTarget = null;
    document.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-topup]");
      if (!b) return;
      topupTarget = b.dataset.topup;
      $("#topup-guest").textContent = b.dataset.name;
      $("#topup-amount").value = ""; $("#topup-error").textContent = "";
      $("#topup-dialog").showModal();
    });
    $("#topup-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var yuan = Number($("#topup-amount").value);
      api("POST", "/api/staff/guests/" + topupTarget + "/topup", { json: { amount_fen: Math.round(yuan * 100), idempotency_key: "topup-" + newKey() } })
        .then(function (r) { $("#topup-dialog").close(); toast(t("staff.topup") + " ✔ " + fen(r.balance_fen), "ok"); loadGuests(); })
        .catch(function (e) { $("#topup-error").textContent = e.message; });
    });
    var rf = $("#room-form");
    if (rf) rf.addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("POST", "/api/rooms", { json: { room_id: rf.room_id.value, name: rf.name.value, camera_source: rf.camera_source.value || null } })
        .then(function () { rf.reset(); loadRooms(); }).catch(function (e) { toast(e.message, "bad"); });
    });
  }

  if (page === "guest") {
    setupOverride(function () { location.reload(); });
    var co = $("#checkout-btn");
    if (co) co.addEventListener("click", function () {
      api("POST", "/api/staff/guests/" + document.body.dataset.guest + "/checkout")
        .then(function (b) {
          var rows = b.lines.map(function (l) {
            return "<tr><td>" + esc(l.at.slice(11, 16)) + "</td><td>" + esc(l.item_name) + "</td><td>" + l.quantity + "</td><td class='num'>" + fen(l.amount_fen) + "</td></tr>";
          }).join("");
          $("#bill-body").innerHTML = rows || "<tr><td colspan=4 class='muted'>" + esc(t("staff.none")) + "</td></tr>";
          $("#bill-total").textContent = fen(b.total_fen);
          $("#balance").textContent = fen(b.balance_fen);
          co.hidden = true;
          $("#bill-closed").hidden = false;
          $("#bill-discarded").textContent = (b.discarded || []).join(" · ");
        }).catch(function (e) { toast(e.message, "bad"); });
    });
  }
})();
