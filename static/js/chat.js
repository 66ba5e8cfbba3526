/* Live chat for a room page. Loaded with <script src="…" defer> after the vendored
 * socket.io client. Progressive enhancement: without JavaScript the page already
 * shows the latest messages and its form posts them.
 *
 * - The last message number shown is kept in memory only (never in any browser
 *   storage); after a reconnect the server sends everything after it, in order.
 * - Each message gets a random client id; unacknowledged sends are retried with
 *   the same id after a reconnect, and the server stores them once.
 * - User content is inserted only as text nodes or as the server's sanitised html.
 * - Each message removes itself at its expires_at, and on the server's "removed".
 */
(function () {
  "use strict";

  var section = document.getElementById("chat");
  if (!section || section.getAttribute("data-live") !== "1" || typeof window.io !== "function") { return; }

  var roomId = parseInt(section.getAttribute("data-room"), 10);
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var state = section.querySelector(".conn-state");
  var presence = document.getElementById("presence");
  var typingLine = document.getElementById("chat-typing");
  var HEARTBEAT_MS = 25000;
  var lastSeq = 0;
  var pending = {};      // client id -> body, until the server acks
  var shown = {};        // seq -> <li>
  var timers = {};       // seq -> removal timer
  var heartbeat = null;

  var LABELS = { connecting: "connecting…", connected: "live", reconnecting: "reconnecting…", offline: "offline" };
  function setState(name) {
    state.hidden = false;
    state.setAttribute("data-state", name);
    state.textContent = LABELS[name];
  }

  function newClientId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function remove(seq) {
    var li = shown[seq];
    if (li && li.parentNode) { li.parentNode.removeChild(li); }
    delete shown[seq];
    if (timers[seq]) { window.clearTimeout(timers[seq]); delete timers[seq]; }
  }

  function expireLater(seq, expiresAt) {
    var wait = Date.parse(expiresAt) - Date.now();
    if (isNaN(wait)) { return; }
    // setTimeout overflows past ~24.8 days; retention is far shorter, but be safe.
    timers[seq] = window.setTimeout(function () { remove(seq); }, Math.max(0, Math.min(wait, 2147483000)));
  }

  function untilText(expiresAt) {
    var s = Math.floor((Date.parse(expiresAt) - Date.now()) / 1000);
    if (s >= 86400) { return Math.floor(s / 86400) + " d"; }
    if (s >= 3600) { return Math.floor(s / 3600) + " h"; }
    if (s >= 60) { return Math.floor(s / 60) + " min"; }
    return "under a minute";
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function show(m) {
    if (!m || typeof m.seq !== "number" || shown[m.seq]) { return; }  // dedupe by seq
    var empty = log.querySelector(".chat-empty");
    if (empty) { log.removeChild(empty); }
    var li = el("li", "chat-msg");
    li.id = "m-" + m.seq;
    li.setAttribute("data-id", String(m.id));
    li.setAttribute("data-seq", String(m.seq));
    li.setAttribute("data-expires", m.expires_at);
    li.appendChild(el("span", "chat-msg-author", m.author));
    li.appendChild(document.createTextNode(" "));
    var body = el("span", "chat-msg-body");
    body.innerHTML = m.html;  // the server's sanitised rendering (forum.markdown.render_inline)
    li.appendChild(body);
    li.appendChild(document.createTextNode(" "));
    var meta = el("span", "chat-msg-time");
    var time = el("time", null, m.created_at.slice(11, 16) + " UTC");
    time.setAttribute("datetime", m.created_at);
    meta.appendChild(time);
    meta.appendChild(document.createTextNode(" · "));
    meta.appendChild(el("span", "expires", "disappears in " + untilText(m.expires_at)));
    li.appendChild(meta);
    // Keep the log in seq order even if a late batch arrives.
    var after = null;
    Object.keys(shown).forEach(function (k) {
      var s = parseInt(k, 10);
      if (s > m.seq && (after === null || s < after)) { after = s; }
    });
    log.insertBefore(li, after === null ? null : shown[after]);
    shown[m.seq] = li;
    if (m.seq > lastSeq) { lastSeq = m.seq; }
    expireLater(m.seq, m.expires_at);
  }

  // Messages the server already rendered into the page.
  Array.prototype.forEach.call(log.querySelectorAll(".chat-msg"), function (li) {
    var seq = parseInt(li.getAttribute("data-seq"), 10);
    shown[seq] = li;
    if (seq > lastSeq) { lastSeq = seq; }
    expireLater(seq, li.getAttribute("data-expires"));
  });

  function say(text) {
    typingLine.textContent = text;
  }

  var socket = window.io("/chat", {
    transports: ["websocket", "polling"],
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 30000,
    randomizationFactor: 0.5
  });
  setState("connecting");

  function join() {
    socket.emit("join", { room_id: roomId, after_seq: lastSeq }, function (ack) {
      if (!ack || !ack.ok) { say(ack ? ack.error : "Could not join the room."); return; }
      ack.messages.forEach(show);
      if (ack.presence) { showPresence(ack.presence); }
      if (ack.more) { join(); return; }  // a long absence: fetch the next batch
      setState("connected");
      Object.keys(pending).forEach(function (id) { send(id, pending[id]); });
    });
  }

  function send(clientId, body) {
    pending[clientId] = body;
    socket.emit("send", { room_id: roomId, client_id: clientId, body: body }, function (ack) {
      if (!ack) { return; }
      if (ack.ok) {
        delete pending[clientId];
        show(ack.message);
        say("");
      } else {
        // Refused for good (too long, muted, rate limit): give the text back, say why.
        delete pending[clientId];
        if (form && !form.elements.body.value) { form.elements.body.value = body; }
        say(ack.error);
      }
    });
  }

  function showPresence(p) {
    if (p.room_id !== roomId) { return; }
    presence.textContent = p.count + " online";
    if (p.names) {
      var list = el("ul", "presence");
      p.names.forEach(function (name) { list.appendChild(el("li", null, name)); });
      presence.appendChild(list);
    }
  }

  socket.on("connect", function () {
    join();
    if (heartbeat) { window.clearInterval(heartbeat); }
    heartbeat = window.setInterval(function () { socket.emit("heartbeat", {}); }, HEARTBEAT_MS);
  });
  socket.on("disconnect", function (reason) {
    setState(reason === "io server disconnect" ? "offline" : "reconnecting");
  });
  socket.on("connect_error", function () { setState(socket.active ? "reconnecting" : "offline"); });
  socket.io.on("reconnect_attempt", function () { setState("reconnecting"); });
  socket.on("message", function (m) { if (m.room_id === roomId) { show(m); } });
  socket.on("removed", function (r) {
    if (r.room_id === roomId) { r.seqs.forEach(remove); }
  });
  socket.on("presence", showPresence);
  socket.on("typing", function (t) {
    if (t.room_id !== roomId) { return; }
    say(t.name + " is typing…");
    window.setTimeout(function () { say(""); }, 4000);
  });
  socket.on("closed", function (c) {
    if (c.room_ids.indexOf(roomId) !== -1) { say(c.reason); setState("offline"); socket.disconnect(); }
  });
  socket.on("muted", function () { say("You are muted in this space for now."); });
  socket.on("signed_out", function () { setState("offline"); say("You are signed out."); });

  if (form) {
    var lastTyping = 0;
    form.addEventListener("submit", function (event) {
      if (!socket.connected) { return; }  // offline: let the plain form post it
      event.preventDefault();
      var body = form.elements.body.value;
      if (!body.trim()) { return; }
      form.elements.body.value = "";
      send(newClientId(), body);
    });
    form.elements.body.addEventListener("input", function () {
      if (section.getAttribute("data-typing") === "1" && socket.connected && Date.now() - lastTyping > 3000) {
        lastTyping = Date.now();
        socket.emit("typing", { room_id: roomId }, function () {});
      }
    });
  }
})();
