/* After payment: the "to deliver" board (live), refunds on the guest's bill, receipt printing. */
(function () {
  "use strict";
  var S = window.Soberpay, t = S.t, $ = S.$, esc = S.esc, api = S.api, toast = S.toast;
  var page = document.body.dataset.page;
  var manager = document.body.dataset.role === "manager";

  function printResult(r) { toast(r.printed ? t("orders.printed") : r.error, r.printed ? "" : "bad"); }

  if (page === "deliveries") {
    var board = $("#board"), voiding = null;
    var printer = document.body.dataset.printer === "on";
    function card(d) {
      var b = "";
      if (d.state === "new") b += "<button class='mini' data-move='preparing' data-order='" + esc(d.order_id) + "'>" + esc(t("orders.prepare")) + "</button> ";
      if (d.state === "preparing") b += "<button class='mini' data-move='delivered' data-order='" + esc(d.order_id) + "'>" + esc(t("orders.deliver")) + "</button> ";
      if (manager && (d.state === "new" || d.state === "preparing")) b += "<button class='mini' data-void='" + esc(d.order_id) + "' data-item='" + esc(d.item_name) + "'>" + esc(t("orders.void")) + "</button> ";
      b += "<a class='mini' href='/staff/deliveries/" + esc(d.order_id) + "/ticket'>" + esc(t("orders.ticket")) + "</a>";
      if (printer) b += " <button class='mini' data-print='" + esc(d.order_id) + "'>" + esc(t("orders.print")) + "</button>";
      return "<li class='delivery d-" + esc(d.state) + "' data-delivery='" + esc(d.order_id) + "'><span class='time'>" + esc(d.created_at.slice(11, 16)) +
        "</span> <b>" + d.quantity + " × " + esc(d.item_name) + "</b> · " + esc(d.guest_name) +
        " · <span class='state' data-state='" + esc(d.state) + "'>" + esc(t("delivery." + d.state)) + "</span><br>" + b + "</li>";
    }
    function draw(list) {
      if (!list.length) { board.innerHTML = "<p class='muted'>" + esc(t("orders.empty")) + "</p>"; return; }
      var rooms = {}, order = [];
      list.forEach(function (d) {
        var k = d.room_id || "-";
        if (!rooms[k]) { rooms[k] = []; order.push(k); }
        rooms[k].push(d);
      });
      board.innerHTML = order.map(function (k) {
        return "<section class='card' data-room='" + esc(k) + "'><h2>" + esc(k) + "</h2><ul class='feed'>" + rooms[k].map(card).join("") + "</ul></section>";
      }).join("");
    }
    function refresh() { return api("GET", "/api/staff/deliveries").then(draw); }
    var es = new EventSource("/api/staff/deliveries/stream");
    es.onopen = function () { $("#board-live").classList.add("on"); };
    es.onerror = function () { $("#board-live").classList.remove("on"); };
    es.addEventListener("board", function (ev) { draw(JSON.parse(ev.data)); });
    board.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b) return;
      if (b.dataset.move) {
        api("POST", "/api/staff/deliveries/" + b.dataset.order + "/state", { json: { state: b.dataset.move } })
          .then(refresh).catch(function (e) { toast(e.message, "bad"); });
      } else if (b.dataset.print) {
        api("POST", "/api/staff/deliveries/" + b.dataset.print + "/print").then(printResult).catch(function (e) { toast(e.message, "bad"); });
      } else if (b.dataset.void) {
        voiding = { order: b.dataset.void, key: S.newKey() };
        $("#void-item").textContent = b.dataset.item;
        $("#void-reason").value = ""; $("#void-error").textContent = "";
        $("#void-dialog").showModal();
      }
    });
    $("#void-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("POST", "/api/staff/orders/" + voiding.order + "/void", { json: { reason: $("#void-reason").value }, headers: { "Idempotency-Key": voiding.key } })
        .then(function (r) { $("#void-dialog").close(); toast(t("orders.refunded") + " " + S.fen(r.balance_fen)); return refresh(); })
        .catch(function (e) { $("#void-error").textContent = e.message; });
    });
  }

  if (page === "guest" && manager) {
    var refunding = null;
    document.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-refund]");
      if (!b) return;
      refunding = { order: b.dataset.refund, key: S.newKey() };  // one key per dialog: a double submit refunds once
      $("#refund-item").textContent = b.dataset.item;
      $("#refund-left").textContent = S.fen(+b.dataset.left);
      $("#refund-amount").max = (+b.dataset.left / 100).toFixed(2);
      $("#refund-amount").value = (+b.dataset.left / 100).toFixed(2);
      $("#refund-reason").value = ""; $("#refund-error").textContent = "";
      $("#refund-dialog").showModal();
    });
    $("#refund-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var fen = Math.round(parseFloat($("#refund-amount").value) * 100);
      api("POST", "/api/staff/orders/" + refunding.order + "/refund", {
        json: { amount_fen: fen, reason: $("#refund-reason").value }, headers: { "Idempotency-Key": refunding.key }
      }).then(function (r) {
        $("#refund-dialog").close();
        toast(t("orders.refunded") + " " + S.fen(r.balance_fen));
        setTimeout(function () { location.reload(); }, 600);
      }).catch(function (e) { $("#refund-error").textContent = e.message; });
    });
  }

  if (page === "receipt") {
    var pr = $("#print-receipt");
    if (pr) pr.addEventListener("click", function () {
      api("POST", "/api/staff/guests/" + document.body.dataset.guest + "/receipt/print").then(printResult)
        .catch(function (e) { toast(e.message, "bad"); });
    });
  }
})();
