/* Safety alerts, live, on every signed-in page; window.rbT, the words (docs/FRONTEND.md). */
(function () {
  "use strict";

  var words = null;
  function T(key, fallback, values) {
    if (words === null) {
      words = {};
      Array.prototype.forEach.call(document.querySelectorAll("template.rb-labels"), function (node) {
        try {
          Object.assign(words, JSON.parse(node.getAttribute("data-labels") || "{}"));
        } catch (e) { /* a broken block: English */ }
      });
    }
    var text = typeof words[key] === "string" ? words[key] : fallback;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }
  window.rbT = T;

  // after the page's own scripts: their connection (window.rbSocket) is the page's one
  document.addEventListener("DOMContentLoaded", alerts);

  function alerts() {
    var box = document.getElementById("safety-alerts");
    if (!box) { return; }
    var HEARTBEAT_MS = 25000;  // realtime/sockets.py HEARTBEAT

    function isId(v) { return typeof v === "number" && v > 0 && Math.floor(v) === v; }

    function el(tag, cls, text) {
      var node = document.createElement(tag);
      if (cls) { node.className = cls; }
      if (text !== undefined) { node.textContent = String(text); }
      return node;
    }

    function existing(id) { return box.querySelector('[data-checkin="' + id + '"]'); }

    function onAlert(a) {
      if (!a || !isId(a.checkin_id) || typeof a.name !== "string") { return; }
      var old = existing(a.checkin_id);
      if (old) { box.removeChild(old); }
      var p = el("p", "flash flash-error safety-alert");
      p.setAttribute("role", "alert");
      p.setAttribute("data-checkin", String(a.checkin_id));
      p.appendChild(el("strong", null, a.kind === "help" ? T("safety.needs_help", "{name} needs help now", { name: a.name }) : T("safety.not_checked_in", "{name} has not checked in", { name: a.name })));
      if (typeof a.note === "string" && a.note) {
        p.appendChild(el("span", "safety-note", " \u00b7 " + a.note));
      }
      p.appendChild(document.createTextNode(" \u00b7 "));
      var link = el("a", null, T("safety.open", "Open"));
      link.setAttribute("href", box.getAttribute("data-alert-url").replace(/0$/, String(a.checkin_id)));
      p.appendChild(link);
      box.insertBefore(p, box.firstChild);
    }

    function onClosed(c) {
      if (!c || !isId(c.checkin_id)) { return; }
      var old = existing(c.checkin_id);
      if (old) { box.removeChild(old); }
      if (c.alerted && typeof c.name === "string") {
        var p = el("p", "flash flash-success", T("safety.checked_in", "{name} checked in.", { name: c.name }));
        p.setAttribute("role", "status");
        box.insertBefore(p, box.firstChild);
      }
    }

    function onUrgent(u) {
      if (!u || !isId(u.alert_id) || typeof u.space !== "string" || typeof u.body !== "string") { return; }
      if (box.querySelector('[data-alert="' + u.alert_id + '"]')) { return; }
      var p = el("p", "flash flash-error urgent-alert");
      p.setAttribute("role", "alert");
      p.setAttribute("data-alert", String(u.alert_id));
      p.appendChild(el("strong", null, u.space + ":"));
      p.appendChild(document.createTextNode(" " + u.body));
      box.insertBefore(p, box.firstChild);
      var ends = Date.parse(u.expires_at);
      if (!isNaN(ends)) {
        window.setTimeout(function () { if (p.parentNode) { p.parentNode.removeChild(p); } },
                          Math.max(0, Math.min(ends - Date.now(), 2147483647)));
      }
    }

    function onUrgentRemoved(r) {
      if (!r || !isId(r.alert_id)) { return; }
      var old = box.querySelector('[data-alert="' + r.alert_id + '"]');
      if (old) { box.removeChild(old); }
    }

    function listen(socket) {
      socket.on("checkin_alert", onAlert);
      socket.on("checkin_closed", onClosed);
      socket.on("urgent_alert", onUrgent);
      socket.on("urgent_alert_removed", onUrgentRemoved);
    }

    if (window.rbSocket) { listen(window.rbSocket); return; }
    if (typeof window.io !== "function" || document.getElementById("chat")) { return; }
    var socket = window.io("/chat", {
      transports: ["websocket", "polling"],
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 30000,
      randomizationFactor: 0.5
    });
    window.rbSocket = socket;
    var heartbeat = null;
    socket.on("connect", function () {
      if (heartbeat) { window.clearInterval(heartbeat); }
      heartbeat = window.setInterval(function () { socket.emit("heartbeat", {}); }, HEARTBEAT_MS);
    });
    socket.on("disconnect", function () {
      if (heartbeat) { window.clearInterval(heartbeat); heartbeat = null; }
    });
    socket.on("signed_out", function () { socket.disconnect(); });
    listen(socket);
  }
})();
