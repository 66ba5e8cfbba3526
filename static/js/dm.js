/* Direct messages between buddies, live (templates/safety/conversation.html).
 * Progressive enhancement: without it the form posts and the page reloads.
 *
 * - Store, then ack: a message shows once the server's ack carries it; a lost ack is
 *   retried with the SAME client_id, which the server answers with the stored one.
 * - After a reconnect, dm_history fetches what came after the last message shown.
 * - Phone first, as chat.js: opened without #dm the page scrolls there; the newest message
 *   stays in view; the refresh link (for the page without JavaScript) hides while connected.
 * - One connection per page (window.rbSocket, shared with safety.js). Nothing stored in
 *   the browser; server text goes in as text nodes only.
 *
 * Server events (realtime/push.py): dm {id, buddy_id, author_name, body, ...}, dm_closed {buddy_id}.
 */
(function () {
  "use strict";

  var T = window.rbT;  // safety.js: words in the page's language

  var log = document.getElementById("dm-log");
  var form = document.getElementById("dm-form");
  var state = document.getElementById("dm-state");
  var section = document.getElementById("dm");
  var scroller = document.getElementById("dm-scroll");
  var refresh = document.getElementById("dm-refresh");  // for the page without JavaScript
  // As chat.js: opened without #dm, the page scrolls there; the newest message in view.
  function toNewest() { if (scroller) { scroller.scrollTop = scroller.scrollHeight; } }
  if (section && !window.location.hash) { section.scrollIntoView(); }
  toNewest();
  if (!log || !form || typeof window.io !== "function") { return; }
  var buddyId = parseInt(log.getAttribute("data-buddy-id"), 10);
  var lastId = parseInt(log.getAttribute("data-last-id"), 10) || 0;
  var pending = {};  // client_id -> body, until acked

  function newId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function show(m) {
    if (!m || m.buddy_id !== buddyId || typeof m.id !== "number") { return; }
    if (log.querySelector('li[data-id="' + m.id + '"]')) { return; }
    var empty = log.querySelector("li[data-empty]");
    if (empty) { log.removeChild(empty); }
    var li = document.createElement("li");
    li.className = "chat-msg";
    li.setAttribute("data-id", String(m.id));
    var who = document.createElement("span");
    who.className = "chat-msg-author";
    who.textContent = String(m.author_name);
    var body = document.createElement("span");
    body.className = "dm-body";
    body.textContent = String(m.body);
    li.appendChild(who);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(body);
    log.appendChild(li);
    if (m.id > lastId) { lastId = m.id; }
    toNewest();
  }

  var socket = window.rbSocket;
  if (!socket) {
    socket = window.rbSocket = window.io("/chat", {
      transports: ["websocket", "polling"], reconnection: true, reconnectionDelay: 1000,
      reconnectionDelayMax: 30000, randomizationFactor: 0.5
    });
    var heartbeat = null;  // realtime/sockets.py HEARTBEAT: keeps this socket's record fresh
    socket.on("connect", function () {
      if (heartbeat) { window.clearInterval(heartbeat); }
      heartbeat = window.setInterval(function () { socket.emit("heartbeat", {}); }, 25000);
    });
    socket.on("disconnect", function () { if (heartbeat) { window.clearInterval(heartbeat); heartbeat = null; } });
  }

  function send(clientId) {
    socket.emit("dm_send", { buddy_id: buddyId, client_id: clientId, body: pending[clientId] }, function (ack) {
      if (ack && ack.ok) { delete pending[clientId]; show(ack.message); state.textContent = ""; return; }
      state.textContent = ack && ack.error ? ack.error : T("dm.not_sent", "Not sent yet: trying again when the connection is back.");
      if (ack && ack.status && ack.status < 500 && ack.status !== 429) { delete pending[clientId]; }
    });
  }

  function resume() {
    socket.emit("dm_history", { buddy_id: buddyId, after_id: lastId }, function (ack) {
      if (ack && ack.ok) { ack.messages.forEach(show); }
    });
    Object.keys(pending).forEach(send);
  }

  socket.on("connect", function () { if (refresh) { refresh.hidden = true; } resume(); });
  socket.on("disconnect", function () { if (refresh) { refresh.hidden = false; } });
  socket.on("dm", show);
  socket.on("dm_closed", function (c) {
    if (c && c.buddy_id === buddyId) { state.textContent = T("dm.ended", "This conversation has ended."); form.hidden = true; }
  });
  form.addEventListener("submit", function (event) {
    if (!socket.connected) { return; }  // the plain form post still works
    event.preventDefault();
    var text = form.elements.body.value.trim();
    if (!text) { return; }
    var clientId = newId();
    pending[clientId] = text;
    form.elements.body.value = "";
    send(clientId);
  });
})();
