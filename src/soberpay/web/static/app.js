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

  // Shared with the pages' own scripts (orders.js).
  window.Soberpay = { t: t, $: $, $$: $$, fen: fen, esc: esc, api: api, toast: toast, newKey: newKey };

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

    // --- self-service: phone + password shows the guest's consents; every change needs the password AND a
    // live capture again (the lookup's token only reads). Cleared on Done, after erasure and after 60 s idle.
    var me = null, selfStream = null, selfIdle = null, selfAction = null;
    var selfBox = $("#self-account");
    function fmtSelf(key, vals) { return t(key).replace(/\{(\w+)\}/g, function (_, k) { return vals[k]; }); }
    function selfClear() {
      me = null; selfAction = null; clearTimeout(selfIdle);
      stopCamera(selfStream); selfStream = null;
      selfBox.hidden = true; selfBox.innerHTML = "";
      $("#self-find").reset(); $("#self-find").hidden = false;
      $("#self-error").textContent = "";
    }
    function selfTouched() {
      clearTimeout(selfIdle);
      if (me) selfIdle = setTimeout(function () { selfClear(); toast(t("self.idle")); }, 60000);
    }
    ["click", "touchstart", "keydown"].forEach(function (ev) { $("#self").addEventListener(ev, selfTouched, true); });
    function renderAccount(notice) {
      var active = {}, seen = [];
      me.consents.forEach(function (c) {
        if (seen.indexOf(c.purpose) < 0) seen.push(c.purpose);
        if (!c.revoked_at) active[c.purpose] = true;
      });
      selfBox.innerHTML = (notice ? '<p class="ok" id="self-result">' + esc(notice) + "</p>" : "") +
        '<p class="big">' + esc(t("self.account")) + " " + esc(me.name) + ' <span class="muted small">' + esc(me.phone_masked) + "</span></p>" +
        "<h3>" + esc(t("self.consents")) + "</h3>" +
        (seen.length ? '<ul id="self-consents">' + seen.map(function (p) {
          return '<li data-purpose="' + esc(p) + '"><span>' + esc(t("self.purpose." + p)) + " · " + esc(t(active[p] ? "self.active" : "self.withdrawn")) +
            "</span>" + (active[p] ? ' <button class="btn" type="button" data-revoke="' + esc(p) + '">' + esc(t("self.revoke")) + "</button>" : "") + "</li>";
        }).join("") + "</ul>" : '<p class="muted">' + esc(t("self.none")) + "</p>") +
        '<p class="row"><button class="btn big" type="button" id="self-erase">' + esc(t("self.erase")) + "</button>" +
        '<button class="btn big" type="button" id="self-done">' + esc(t("self.done")) + "</button></p>" +
        '<div id="self-confirm" hidden></div><p class="muted small">' + esc(t("self.staff_hint")) + "</p>";
      selfBox.hidden = false;
    }
    function openConfirm(action) {
      stopCamera(selfStream); selfStream = null;
      selfAction = action;
      var done = $("#self-result");
      if (done) done.remove();  // the previous action's notice must not read as this one's result
      var title = action.erase ? t("self.erase") : fmtSelf("self.confirm_revoke", { purpose: t("self.purpose." + action.purpose) });
      var effect = '<p class="banner warn">' + esc(t(action.erase ? "self.erase_deleted" : "self.effect." + action.purpose)) + "</p>" +
        (action.erase ? '<p class="banner">' + esc(t("self.erase_kept")) + "</p>" : "");
      var box = $("#self-confirm");
      box.innerHTML = "<h3>" + esc(title) + "</h3>" + effect + "<p>" + esc(t("self.proof")) + "</p>" +
        '<div class="capture"><video id="self-camera" autoplay playsinline muted></video><div>' +
        "<label>" + esc(t("kiosk.password")) + '<input id="self-password" type="password" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="off"></label>' +
        '<p id="self-prompt" class="quality" aria-live="polite"></p>' +
        '<label class="btn file">' + esc(t("self.upload")) + '<input type="file" id="self-file" accept="video/*,image/*" multiple hidden></label>' +
        '<p class="row"><button class="btn primary big" type="button" id="self-go">' + esc(t("self.confirm")) + "</button>" +
        '<button class="btn big" type="button" id="self-cancel">' + esc(t("self.cancel")) + "</button></p></div></div>";
      box.hidden = false;
      box.scrollIntoView({ block: "nearest" });
      startCamera($("#self-camera")).then(function (s) {
        if (selfAction !== action) { stopCamera(s); return; }  // closed while the camera was starting
        selfStream = s; $("#self-camera").hidden = !s;
      });
    }
    // The proof capture: a chosen video/frames, else a liveness challenge and a 3 s clip from the camera.
    function selfCapture() {
      var files = $("#self-file").files, v = $("#self-camera");
      if (files.length) return Promise.resolve({ face: Array.prototype.slice.call(files) });
      if (!(selfStream && v.videoWidth && window.SoberpayCapture)) return Promise.resolve(null);
      return api("POST", "/api/liveness/challenge", { headers: { "X-Guest-Token": me.guest_token } }).then(function (c) {
        $("#self-prompt").textContent = SoberpayCapture.prompt(c.actions, t);
        return SoberpayCapture.captureClip(v, 3, c).then(function (blobs) {
          $("#self-prompt").textContent = "";
          return blobs.length ? { face: blobs, challenge_id: c.challenge_id } : null;
        });
      });
    }
    function selfGo() {
      var action = selfAction, err = $("#self-error"), go = $("#self-go");
      var pw = $("#self-password").value;
      err.textContent = ""; go.disabled = true;
      selfCapture().then(function (cap) {
        if (!cap) throw new Error(t("self.need_face"));
        var fd = new FormData();
        fd.append("password", pw);
        cap.face.forEach(function (b, i) { fd.append("face", b, b.name || "f" + i + ".jpg"); });
        if (cap.challenge_id) fd.append("challenge_id", cap.challenge_id);
        var url = "/api/guests/" + me.guest_id + (action.erase ? "" : "/consents/" + action.purpose);
        return api("DELETE", url, { form: fd, headers: { "X-Guest-Token": me.guest_token } });
      }).then(function (r) {
        stopCamera(selfStream); selfStream = null; selfAction = null;
        if (action.erase) {
          selfClear();
          selfBox.innerHTML = '<p class="ok big" id="self-result">' + esc(t("self.erased_ok")) + "</p>";
          selfBox.hidden = false;
          return;
        }
        me = Object.assign(r, { guest_token: me.guest_token });
        renderAccount(t("self.revoked_ok"));
      }).catch(function (e) {
        err.textContent = e.data && e.data.message_key ? t(e.data.message_key) : e.message;
        if ($("#self-go")) { $("#self-go").disabled = false; $("#self-password").value = ""; }
      });
    }
    $("#self-find").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target;
      $("#self-error").textContent = "";
      api("POST", "/api/guests/self-service", { json: { phone: f.phone.value, password: f.password.value } }).then(function (r) {
        me = r; f.reset(); f.hidden = true; renderAccount(); selfTouched();
      }).catch(function (e) { f.password.value = ""; $("#self-error").textContent = e.message; });
    });
    selfBox.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b || !me) return;
      if (b.dataset.revoke) openConfirm({ purpose: b.dataset.revoke });
      else if (b.id === "self-erase") openConfirm({ erase: true });
      else if (b.id === "self-done") selfClear();
      else if (b.id === "self-go") selfGo();
      else if (b.id === "self-cancel") {
        stopCamera(selfStream); selfStream = null; selfAction = null;
        $("#self-confirm").hidden = true; $("#self-confirm").innerHTML = "";
      }
    });
  }

  // --- room touchscreen -----------------------------------------------------------------------
  // A charge is always confirmed in the moment: cart → "Pay ¥X from your balance (¥Y left)?" → a fresh
  // face capture or the payment password → receipt. The guest token only says who is at the screen.
  // The cart is cleared on Done, on a new identification and after IDLE_MS without a touch.
  if (page === "room") {
    var IDLE_MS = 90000;
    var room = document.body.dataset.room;
    var base = "/api/rooms/" + room;
    var menu = {};
    JSON.parse($("#menu-data").textContent).forEach(function (m) { menu[m.id] = m; });
    var lang = document.documentElement.lang.indexOf("zh") === 0 ? "zh" : "en";
    function itemName(m) { return lang === "zh" ? m.name_zh : m.name; }
    function fmt(key, vals) { return t(key).replace(/\{(\w+)\}/g, function (_, k) { return vals[k]; }); }
    var cart = [];  // {item, qty, key}
    var g = null;   // {id, name, token}
    var risk = null;
    var roomStream = null;
    var poll = null, idleTimer = null;

    function gh() { return { "X-Guest-Token": g ? g.token : "" }; }
    function isLocked(m) { return !!(risk && risk.high_price_locked && (m.high_price || m.category === "liquor")); }
    function cartTotal() { return cart.reduce(function (s, l) { return s + l.item.price_fen * l.qty; }, 0); }

    // The single capture step of a payment → a face factor (or null): with a live camera, a liveness
    // challenge and a 3 s clip (a still photo is refused); otherwise a chosen file or one frame.
    function captureFace() {
      var v = $("#room-camera");
      var file = $("#confirm-file").files[0];
      if (file) return Promise.resolve({ face: file });
      if (!(roomStream && v.videoWidth)) return Promise.resolve(null);
      if (!window.SoberpayCapture) return grab(v).then(function (b) { return b && { face: b }; });
      return api("POST", "/api/liveness/challenge", {}).then(function (c) {
        toast(SoberpayCapture.prompt(c.actions, t), "warn");
        return SoberpayCapture.captureClip(v, 3, c).then(function (blobs) {
          return blobs.length ? { frames: blobs, challenge_id: c.challenge_id } : null;
        });
      });
    }

    function renderLocks() {
      $$(".item").forEach(function (b) {
        var locked = isLocked(menu[b.dataset.item]);
        b.classList.toggle("locked", locked);
        $(".lock", b).hidden = !locked;
      });
      var banner = $("#lock-banner"), key = risk && risk.notice;
      banner.hidden = !key; banner.textContent = key ? t(key) : "";
      if (g) {
        var st = risk ? risk.state : "normal";
        $("#guest-state").textContent = t("state." + st);
        $("#guest-state").className = "state s-" + st;
      }
    }
    function renderCart() {
      var ul = $("#cart-lines");
      if (!cart.length) { ul.innerHTML = '<li class="muted">' + esc(t("room.cart_empty")) + "</li>"; }
      else {
        ul.innerHTML = cart.map(function (l, i) {
          return "<li><span>" + esc(itemName(l.item)) + " ×" + l.qty + (isLocked(l.item) ? " ⚠" : "") +
            '</span><span class="num">' + fen(l.item.price_fen * l.qty) +
            ' <button class="mini" data-del="' + i + '" aria-label="' + esc(t("room.delete")) + '">✕</button></span></li>';
        }).join("");
      }
      $("#cart-total").textContent = fen(cartTotal());
    }
    function clearCart() { cart = []; renderCart(); }
    function touched() {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(function () {
        if (cart.length || g) { clearGuest(); toast(t("room.idle_cleared")); }
      }, IDLE_MS);
    }
    ["click", "touchstart", "keydown"].forEach(function (ev) { document.addEventListener(ev, touched, true); });
    $("#cart-lines").addEventListener("click", function (ev) {
      var i = ev.target.dataset.del;
      if (i !== undefined) { cart.splice(Number(i), 1); renderCart(); }
    });
    $$(".item").forEach(function (b) {
      b.addEventListener("click", function () {
        var m = menu[b.dataset.item];
        var line = cart.find(function (l) { return l.item.id === m.id; });
        if (line) { line.qty += 1; line.key = newKey(); } else cart.push({ item: m, qty: 1, key: newKey() });
        if (isLocked(m)) toast(t("room.notice.locked"), "warn");
        renderCart();
      });
    });
    $("#cart-clear").addEventListener("click", clearCart);

    function setGuest(r) {
      if (g && g.id !== r.guest_id) clearCart();  // a new identification never inherits a cart
      g = { id: r.guest_id, name: r.name, token: r.guest_token };
      risk = { state: r.risk_state, high_price_locked: r.high_price_locked, notice: r.notice, balance_fen: r.balance_fen };
      $("#guest-name").textContent = r.name;
      $("#guest-bar").hidden = false;
      renderLocks(); refreshPending();
      clearInterval(poll);
      poll = setInterval(refreshRisk, 4000);
    }
    function clearGuest() {
      g = null; risk = null; clearInterval(poll);
      stopCamera(roomStream); roomStream = null;
      $("#guest-bar").hidden = true; $("#pending").hidden = true; $("#recovery-notice").hidden = true;
      $("#results").innerHTML = "";
      $$("dialog[open]").forEach(function (d) { d.close(); });
      clearCart(); renderLocks();
    }
    $("#guest-done").addEventListener("click", clearGuest);
    function guestError(e) {
      if (e.status === 401 && g) clearGuest();
      toast(e.data && e.data.message_key ? t(e.data.message_key) : e.message, "bad");
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
        var canAct = risk && risk.state === "normal";
        $("#pending").hidden = open.length === 0;
        $("#recovery-notice").hidden = !(canAct && open.length);
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
        var p = ev.target.closest("li").querySelector("span").textContent;
        confirmStep(p, function (factor) { return settle([{ pending: c, key: "confirm-" + c + "-" + newKey() }], factor); });
      } else if (d) {
        api("POST", base + "/pending/" + d + "/discard", { headers: gh() })
          .then(function () { refreshPending(); }).catch(guestError);
      }
    });

    // password pad
    var digits = "", padResolve = null;
    function renderDots() { $("#password-dots").textContent = "●".repeat(digits.length) + "○".repeat(6 - digits.length); }
    function askPassword(message) {
      digits = ""; renderDots();
      $("#password-msg").textContent = message || "";
      $("#password-dialog").showModal();
      return new Promise(function (resolve) { padResolve = resolve; });
    }
    $$("#password-dialog .pad .key").forEach(function (k) {
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

    // --- the confirmation step: what, how much, what is left; then a fresh factor -----------------
    var confirmRun = null;
    function confirmStep(what, run) {
      confirmRun = run;
      $("#confirm-what").textContent = what;
      $("#confirm-error").textContent = "";
      $("#confirm-file").value = "";
      $("#confirm-dialog").showModal();
      startCamera($("#room-camera")).then(function (s) { roomStream = s; });
    }
    function factorChosen(factor) {
      var run = confirmRun;
      if (!run) return;
      confirmRun = null;
      $("#confirm-dialog").close();
      run(factor).then(showReceipt).catch(guestError);
    }
    $("#confirm-face").addEventListener("click", function () {
      captureFace().then(function (factor) {
        if (!factor) { $("#confirm-error").textContent = t("kiosk.camera_off"); return; }
        factorChosen(factor);
      }).catch(function (e) { $("#confirm-error").textContent = e.message; });
    });
    $("#confirm-file").addEventListener("change", function () { $("#confirm-face").click(); });
    $("#confirm-password").addEventListener("click", function () {
      var run = confirmRun;
      $("#confirm-dialog").close();
      confirmRun = run;
      askPassword("").then(function (pw) { if (pw) factorChosen({ password: pw }); else confirmRun = null; });
    });
    $("#confirm-dialog").addEventListener("close", function () { if (!$("#password-dialog").open) stopCamera(roomStream); });

    function post(line, factor) {
      var fd = new FormData();
      fd.append("idempotency_key", line.key);
      if (factor.password) fd.append("password", factor.password);
      if (factor.face) fd.append("face", factor.face, factor.face.name || "face.jpg");
      if (factor.frames) {
        factor.frames.forEach(function (b, i) { fd.append("frames", b, "f" + i + ".jpg"); });
        fd.append("challenge_id", factor.challenge_id);
      }
      if (line.pending) return api("POST", base + "/pending/" + line.pending + "/confirm", { form: fd, headers: gh() });
      fd.append("item_id", line.item.id); fd.append("quantity", line.qty);
      return api("POST", base + "/purchases", { form: fd, headers: gh() });
    }
    // Pay each line with the factor given; a tagged guest's regular item asks for the missing factor.
    function settle(lines, factor) {
      var receipt = [];
      var chain = Promise.resolve(true);
      lines.forEach(function (line) {
        chain = chain.then(function (go) { return go ? payLine(line, factor, receipt) : false; });
      });
      return chain.then(function () { return receipt; });
    }
    function payLine(line, factor, receipt) {
      return post(line, factor).then(function (o) {
        var name = line.item ? itemName(line.item) + " ×" + line.qty : o.item_id;
        if (o.outcome === "verification_required") {
          var need = o.requires || [];
          var ask = need.indexOf("password") >= 0 ? askPassword(t(o.message_key)).then(function (pw) { return pw && { password: pw }; })
            : captureFace();
          return ask.then(function (more) {
            if (!more) return false;
            return payLine(line, Object.assign({}, factor, more), receipt);
          });
        }
        if (o.outcome === "password_rejected") {
          return askPassword(t(o.message_key)).then(function (pw) {
            return pw ? payLine(line, Object.assign({}, factor, { password: pw }), receipt) : false;
          });
        }
        receipt.push({ name: name, o: o });
        if (line.item && (o.outcome === "charged" || o.outcome === "suspended")) {
          cart = cart.filter(function (l) { return l !== line; });
        }
        return o.outcome === "charged" || o.outcome === "suspended";
      });
    }
    function showReceipt(receipt) {
      renderCart(); refreshPending(); refreshRisk();
      if (!receipt.length) return;
      var last = receipt[receipt.length - 1].o;
      $("#receipt-lines").innerHTML = receipt.map(function (r) {
        var kind = r.o.outcome === "charged" ? "ok" : r.o.outcome === "suspended" ? "warn" : "bad";
        return '<li class="' + kind + '"><b>' + esc(r.name) + " " + (r.o.charged_fen ? fen(r.o.charged_fen) : "") +
          "</b><br><span class='small'>" + esc(t(r.o.message_key)) + "</span></li>";
      }).join("");
      $("#receipt-balance").textContent = fen(last.balance_fen);
      if (risk) risk.balance_fen = last.balance_fen;
      $("#receipt-dialog").showModal();
    }
    $("#receipt-done").addEventListener("click", function () { $("#receipt-dialog").close(); clearGuest(); });

    function startPay() {
      if (!cart.length) return;
      var total = cartTotal();
      var what = fmt("room.confirm_pay", { amount: fen(total), left: fen((risk ? risk.balance_fen : 0) - total) });
      confirmStep(what, function (factor) { return settle(cart.slice(), factor); });
    }

    // identification (who is paying), then straight to the confirmation step
    $("#pay-face").addEventListener("click", function () {
      if (g) { startPay(); return; }
      $("#identify-error").textContent = "";
      $("#identify-file").value = "";
      $("#identify-dialog").showModal();
      startCamera($("#room-camera")).then(function (s) { roomStream = s; $("#room-camera").hidden = !s; });
    });
    // Last 4 phone digits, asked when the service answers ask_phone_last4 (large gallery or two guests
    // too alike). The digits only narrow the search: the face must still match, and the service bounds
    // the guesses per room.
    var last4 = "", digitsResolve = null;
    function renderDigits() { $("#digits-dots").textContent = "●".repeat(last4.length) + "○".repeat(4 - last4.length); }
    function askDigits() {
      last4 = ""; renderDigits();
      $("#digits-dialog").showModal();
      return new Promise(function (resolve) { digitsResolve = resolve; });
    }
    $$("#digits-dialog .pad .key").forEach(function (k) {
      k.addEventListener("click", function () {
        if (k.dataset.digit && last4.length < 4) last4 += k.dataset.digit;
        if (k.dataset.action === "clear") last4 = last4.slice(0, -1);
        renderDigits();
        if (k.dataset.action === "ok" && last4.length === 4) {
          var d = last4; last4 = "";
          $("#digits-dialog").close("ok");
          if (digitsResolve) { digitsResolve(d); digitsResolve = null; }
        }
      });
    });
    $("#digits-dialog").addEventListener("close", function () {
      if (digitsResolve) { digitsResolve(null); digitsResolve = null; }
    });
    // send(digits or null): a refusal that asks for the digits is answered once, with a new capture.
    function withDigits(send) {
      return send(null).catch(function (e) {
        if (!(e.data && e.data.ask_phone_last4)) throw e;
        return askDigits().then(function (d) { if (!d) throw e; return send(d); });
      });
    }
    function identifyByClip(digits) {
      // Live camera: a challenge, then a 3 s clip (liveness + identification from the same frames).
      var video = $("#room-camera");
      return api("POST", "/api/liveness/challenge", {}).then(function (c) {
        $("#challenge-prompt").textContent = SoberpayCapture.prompt(c.actions, t);
        return SoberpayCapture.captureClip(video, 3, c).then(function (blobs) {
          $("#challenge-prompt").textContent = "";
          if (!blobs.length) { $("#identify-error").textContent = t("kiosk.camera_off"); return; }
          var fd = new FormData();
          blobs.forEach(function (b, i) { fd.append("frames", b, "f" + i + ".jpg"); });
          fd.append("challenge_id", c.challenge_id);
          if (digits) fd.append("phone_last4", digits);
          return api("POST", base + "/identify/clip", { form: fd }).then(function (r) {
            $("#identify-dialog").close(); setGuest(r); startPay();
          });
        });
      });
    }
    $("#identify-go").addEventListener("click", function () {
      var file = $("#identify-file").files[0];
      if (!file && $("#room-camera").videoWidth) {
        withDigits(identifyByClip).catch(function (e) { $("#challenge-prompt").textContent = ""; $("#identify-error").textContent = e.message; });
        return;
      }
      var p = file ? Promise.resolve(file) : grab($("#room-camera"));
      p.then(function (blob) {
        if (!blob) { $("#identify-error").textContent = t("kiosk.camera_off"); return; }
        return withDigits(function (digits) {
          var fd = new FormData(); fd.append("file", blob, blob.name || "frame.jpg");
          if (digits) fd.append("phone_last4", digits);
          return api("POST", base + "/identify/face", { form: fd });
        }).then(function (r) { $("#identify-dialog").close(); setGuest(r); startPay(); });
      }).catch(function (e) { $("#identify-error").textContent = e.message; });
    });
    $("#pay-phone").addEventListener("click", function () {
      if (g) { startPay(); return; }
      $("#phone-error").textContent = "";
      $("#phone-dialog").showModal();
    });
    $("#phone-go").addEventListener("click", function () {
      api("POST", base + "/identify/phone", { json: { phone: $("#phone-input").value, password: $("#phone-password").value } })
        .then(function (r) { $("#phone-dialog").close(); $("#phone-password").value = ""; setGuest(r); startPay(); })
        .catch(function (e) { $("#phone-error").textContent = e.message; });
    });
    renderCart();
    touched();
  }

  // --- staff -------------------------------------------------------------------------------------
  // QR pairing: the code opens /room/<id>#pair=<token>; the fragment never leaves the browser, so the page
  // posts the token like a typed one and drops it from the address bar.
  if (page === "room-pair" && location.hash.indexOf("#pair=") === 0) {
    var pairForm = $("form");
    pairForm.token.value = decodeURIComponent(location.hash.slice(6));
    history.replaceState(null, "", location.pathname);
    pairForm.submit();
  }

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
    var names = {}, roomsList = [], es = null, timers = [];
    // Plain language per guest: "Room 102: Li Wei tagged — high-price items locked".
    function guestLine(room, p) {
      return (room ? room + ": " : "") + p.name + " " + t("state." + p.state) +
        (p.high_price_locked ? " — " + t("staff.hp_locked") : "") + (p.reason ? " (" + p.reason + ")" : "");
    }
    // Camera health: state, age of the last picture, reconnects, the last error (stalled/reconnecting only).
    function cameraLine(l) {
      var state = l.state || (l.running ? "connected" : "stopped"), bad = state === "stalled" || state === "reconnecting";
      return "<p class='small camera cam-" + esc(state) + (bad ? " bad" : " muted") + "' data-camera='" + esc(state) + "'>" + esc(t("cam." + state)) +
        (l.frame_age_s != null ? " · " + esc(t("cam.last_frame")) + " " + Number(l.frame_age_s).toFixed(1) + " s" : "") +
        (l.reconnects ? " · " + esc(t("cam.reconnects")) + " " + l.reconnects : "") +
        (bad && l.last_error ? " · " + esc(l.last_error) : "") + "</p>";
    }
    function loadOverview() {
      return api("GET", "/api/staff/rooms/overview").then(function (rooms) {
        roomsList = rooms.filter(function (r) { return r.room_id; });
        $("#room-overview").innerHTML = rooms.map(function (r) {
          if (!r.room_id && !r.guests.length && !r.held.length && !r.alerts.length) return "";
          var title = r.room_id ? r.name : t("staff.no_room");
          var l = r.live || {};
          return '<div class="room-over' + (l.running ? " live" : "") + '" data-room="' + esc(r.room_id || "") + '"><h3>' + esc(title) +
            (r.live ? " <span class='muted small'>" + (l.running ? "● " : "○ ") + "fps " + (l.fps || 0).toFixed(1) + "</span>" : "") + "</h3>" +
            (r.live ? cameraLine(l) : "") +
            (r.guests.length ? r.guests.map(function (p) {
              return "<p class='line" + (p.state !== "normal" ? " bad" : "") + "'>" + esc(guestLine(title, p)) + "</p>";
            }).join("") : "<p class='muted small'>" + esc(t("staff.nobody")) + "</p>") +
            (r.held.length ? "<ul>" + r.held.map(function (h) {
              return "<li class='held'>" + esc(t("staff.held")) + ": " + esc(names[h.guest_id] || h.guest_id.slice(0, 8)) + " · " + esc(h.item_name) + " ×" + h.quantity +
                " · " + fen(h.amount_fen) + " <span class='muted small'>" + esc(h.reason) + "</span> <button class='btn mini-btn' data-discard-held='" + esc(h.id) + "'>" +
                esc(t("staff.held_discard")) + "</button></li>";
            }).join("") + "</ul>" : "") +
            (r.alerts.length ? "<ul>" + r.alerts.slice(0, 5).map(function (a) {
              return "<li class='small'><b>" + esc(a.kind) + "</b> " + esc(a.message) + "</li>";
            }).join("") + "</ul>" : "") +
            (manager && r.room_id ? '<button class="btn mini-btn" data-token="' + esc(r.room_id) + '">' + esc(t("staff.issue_token")) + "</button>" +
              '<button class="btn mini-btn" data-qr="' + esc(r.room_id) + '">' + esc(t("staff.pair_qr")) + "</button>" : "") + "</div>";
        }).join("");
      }).catch(stopIfSignedOut);
    }
    function loadGuests() {
      return api("GET", "/api/staff/guests").then(function (list) {
        list.forEach(function (x) { names[x.guest_id] = x.name; });
        var opts = roomsList.map(function (r) { return "<option value='" + esc(r.room_id) + "'>" + esc(r.name) + "</option>"; }).join("");
        $("#guests").innerHTML = list.map(function (x) {
          return "<tr><td><a href='/staff/guests/" + esc(x.guest_id) + "'>" + esc(x.name) + "</a></td><td><span class='state s-" + esc(x.state) + "'>" +
            esc(t("state." + x.state)) + "</span></td><td>" + esc(x.reason) + "</td><td class='num'>" + fen(x.balance_fen) +
            "</td><td><button class='btn' data-override='" + esc(x.guest_id) + "' data-name='" + esc(x.name) + "'>" + esc(t("staff.override")) +
            "</button><button class='btn' data-topup='" + esc(x.guest_id) + "' data-name='" + esc(x.name) + "'>" + esc(t("staff.topup")) + "</button>" +
            "<select class='checkin' data-checkin='" + esc(x.guest_id) + "' aria-label='" + esc(t("staff.checkin")) + "'><option value=''>" + esc(t("staff.checkin")) + "</option>" + opts + "</select></td></tr>";
        }).join("") || "<tr><td colspan=5 class='muted'>" + esc(t("staff.none")) + "</td></tr>";
      }).catch(stopIfSignedOut);
    }
    function refresh() { return loadOverview().then(loadGuests); }
    // Signed out (here or in another tab): stop the stream and the polling, clear the page, go to sign-in.
    function signedOut() {
      if (es) { es.close(); es = null; }
      timers.forEach(clearInterval);
      $("#sse-state").classList.remove("on");
      $("main").innerHTML = '<p class="card narrow">' + esc(t("staff.signed_out")) + "</p>";
      location.href = "/staff/login";
    }
    function stopIfSignedOut(e) { if (e && e.status === 401) signedOut(); }
    $$("a[href='/staff/logout']").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        api("POST", "/api/auth/logout").catch(function () {}).then(signedOut);
      });
    });
    timers.push(setInterval(loadOverview, 3000), setInterval(loadGuests, 10000));
    setupOverride(refresh);
    var feed = $("#alerts"), first = true, refreshTimer = null;
    function startAlerts() {
      es = new EventSource("/api/staff/alerts/stream");
      es.onopen = function () { $("#sse-state").classList.add("on"); };
      es.onerror = function () {
        $("#sse-state").classList.remove("on");
        api("GET", "/api/auth/me").catch(stopIfSignedOut);  // a closed stream may mean: signed out
      };
      es.addEventListener("alert", function (ev) {
        var a = JSON.parse(ev.data);
        if (first) { feed.innerHTML = ""; first = false; }
        var li = document.createElement("li");
        li.className = "k-" + a.kind;
        li.innerHTML = "<span class='time'>" + esc(a.at.slice(11, 19)) + "</span> " + (a.room_id ? "<b>" + esc(a.room_id) + "</b> · " : "") +
          "<b>" + esc(a.kind) + "</b> " + esc(a.message) +
          (a.guest_id ? " <a href='/staff/guests/" + esc(a.guest_id) + "'>" + esc(names[a.guest_id] || a.guest_id.slice(0, 8)) + "</a>" : "") +
          (a.acknowledged ? " <span class='muted'>✔</span>" : " <button class='mini ack' data-ack='" + a.id + "'>✔ " + esc(t("staff.ack")) + "</button>");
        feed.prepend(li);
        clearTimeout(refreshTimer);
        refreshTimer = setTimeout(refresh, 300);  // one refresh per burst of alerts
      });
    }
    refresh().then(function () { if (!es) startAlerts(); });
    feed.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-ack]");
      if (!b) return;
      api("POST", "/api/staff/alerts/" + b.dataset.ack + "/ack").then(function () {
        b.outerHTML = "<span class='muted'>✔</span>";
      }).catch(function (e) { toast(e.message, "bad"); });
    });
    document.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-token]"), q = ev.target.closest("[data-qr]"), h = ev.target.closest("[data-discard-held]");
      if (b) api("POST", "/api/rooms/" + b.dataset.token + "/tokens").then(function (r) {
        $("#token-out").textContent = r.room_id + ": " + r.token + "  →  " + location.origin + "/room/" + r.room_id;
      }).catch(function (e) { toast(e.message, "bad"); });
      if (q) api("POST", "/api/rooms/" + q.dataset.qr + "/pairing").then(function (r) {
        $("#qr-svg").innerHTML = r.qr_svg;  // SVG generated by the server (segno), not user input
        $("#qr-token").textContent = r.room_id + ": " + r.token;
        $("#qr-out").hidden = false;
      }).catch(function (e) { toast(e.message, "bad"); });
      if (h) api("POST", "/api/staff/pending/" + h.dataset.discardHeld + "/discard").then(loadOverview)
        .catch(function (e) { toast(e.message, "bad"); });
    });
    document.addEventListener("change", function (ev) {
      var s = ev.target.closest("[data-checkin]");
      if (!s || !s.value) return;
      api("POST", "/api/staff/guests/" + s.dataset.checkin + "/checkin", { json: { room_id: s.value } })
        .then(refresh).catch(function (e) { toast(e.message, "bad"); });
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
      api("POST", "/api/rooms", { json: { room_id: rf.room_id.value, name: rf.name.value, camera_source: rf.camera_source.value || null, thermal_camera_source: rf.thermal_camera_source.value || null } })
        .then(function () { rf.reset(); refresh(); }).catch(function (e) { toast(e.message, "bad"); });
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
