/* Live chat for a room page. Loaded with <script src="…" defer> after the vendored
 * socket.io client. Progressive enhancement: without JavaScript the page already
 * shows the latest messages and its form posts them.
 *
 * - Message numbers (seq) are kept in memory only (never in any browser storage).
 *   Live messages may arrive out of seq order (each server process publishes its own),
 *   so the script keeps `upTo`: the highest seq up to which every message is shown or
 *   known to be gone, not the highest seen. A seq above a gap waits GAP_WAIT_MS for
 *   the missing ones, then asks the server for everything after `upTo` ("history"
 *   with after_seq); the answer's `through` says which seqs it covered, so ones that
 *   no longer exist (hidden, expired, deleted, blocked) close the gap too. Each
 *   (re)connect asks for the room in its handshake (auth {room_id, after_seq: upTo}):
 *   the server joins there and answers "joined", the "join" ack, so a join resumes
 *   after `upTo`; a server that does not is asked by the "join" event at "connect".
 *   Repeats are dropped by seq. A join the
 *   server could not answer (5xx, 429), or whose answer has not come in ANSWER_WAIT_MS
 *   (lost without a disconnect), is asked again after a growing wait: until one
 *   succeeds the socket is connected but not in the room, and hears nothing. A gap's
 *   "history" unanswered that long is asked again too.
 * - Each message gets a random client id; unacknowledged sends are retried with
 *   the same id after a reconnect and after a server error (5xx, with a growing wait),
 *   and the server stores them once. A send merely slow to be answered is not sent
 *   again on the same connection: the server answers every event it receives, in turn,
 *   and copies sent every ACK_WAIT_MS to a struggling server only lengthened its queue
 *   (each copy takes the room's seq lock too), until nothing was answered at all.
 *   "Too fast" (429) is retried as a 5xx is. Resends go out in order, one every
 *   RESEND_GAP_MS, so a long absence's backlog stays under the per-socket bucket
 *   (realtime/throttle.py: bursts of 40, 10 a second).
 * - User content is inserted only as text nodes or as the server's sanitised html.
 * - Each message removes itself at its expires_at, and on the server's "removed".
 *   A removed seq stays gone: its "message" may still arrive after the "removed"
 *   (another process published it, or a history answer made before the removal), and
 *   is dropped; only a message the server marks `restored` (a moderator kept it)
 *   brings it back.
 * - Each message from someone else has a small "…" menu: Flag (a link to the flag
 *   page) and Block (the same form the page has, posted with fetch so the room
 *   stays open; the server then drops that person's messages from this screen).
 * - If the privacy guard finds personal details, the text stays in the box and a
 *   warning offers "Send anyway", which re-sends the SAME client id, confirmed.
 */
(function () {
  "use strict";

  var T = window.rbT;  // safety.js: words in the page's language

  var section = document.getElementById("chat");
  var scroller = document.getElementById("chat-scroll");
  // The newest message at the bottom of its box (the box scrolls from the bottom
  // already, see site.css; this is for browsers that start it at the top).
  function toNewest() { if (scroller) { scroller.scrollTop = scroller.scrollHeight; } }
  // Links to a room end in #chat; a room opened some other way scrolls there too, so
  // the messages and the writing box fill the screen.
  if (section && !window.location.hash && section.getAttribute("data-live") === "1") {
    section.scrollIntoView();
  }
  toNewest();
  if (!section || section.getAttribute("data-live") !== "1" || typeof window.io !== "function") { return; }

  var roomId = parseInt(section.getAttribute("data-room"), 10);
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var state = section.querySelector(".conn-state");
  var refresh = document.getElementById("chat-refresh");  // for the page without JavaScript
  var presence = document.getElementById("presence");
  var typingLine = document.getElementById("chat-typing");
  var HEARTBEAT_MS = 25000;
  var GAP_WAIT_MS = 1500;  // a seq missing this long is fetched (it may still be in flight)
  var upTo = 0;            // every seq up to this is shown or gone for us
  var above = {};          // seq -> true: arrived above upTo (a gap lies below)
  var gapTimer = null;
  var filling = false;     // a "history" request for a gap is out
  var ACK_WAIT_MS = 10000; // no answer this long: send again if the connection changed
  var ANSWER_WAIT_MS = 20000;  // a join or history with no answer this long is lost
  var connections = 0;     // "connect" events so far: which connection a send went out on
  var RETRY_MS = 2000;     // after a server error: 2 s, 4 s, 8 s … at most RETRY_MAX_MS
  var RETRY_MAX_MS = 30000;
  var RESEND_GAP_MS = 250;  // resends: 4 a second, well under the socket's 10
  var retryTimers = {};    // client id -> timer
  var joinTimer = null;    // a failed join asked again after RETRY_MS, 2 x RETRY_MS, …
  var joinTries = 0;
  var pending = {};      // client id -> {body, confirmed}, until the server acks
  var shown = {};        // seq -> <li>
  var timers = {};       // seq -> removal timer
  var gone = {};         // seq -> true: removed here; a late copy of it stays out
  var heartbeat = null;

  var LABELS = {
    connecting: T("chat.connecting", "connecting…"), connected: T("chat.connected", "live"),
    reconnecting: T("chat.reconnecting", "reconnecting…"), offline: T("chat.offline", "offline")
  };
  // An erased author's name is stored as one English placeholder (forum/i18n.py
  // STORED_DELETED; no alias can be it). A broadcast made once for the whole room (a
  // moderator keeping such a message) carries it as stored: put it in the reader's words.
  function shownName(name) {
    return name === "[deleted]" ? T("chat.deleted_name", "[deleted]") : name;
  }

  function setState(name) {
    state.hidden = false;
    state.setAttribute("data-state", name);
    state.textContent = LABELS[name];
    // Live: new messages come by themselves. Otherwise the page's refresh link is the way.
    if (refresh) { refresh.hidden = name === "connected"; }
  }

  // The time of day in the page's language and the reader's zone (<html data-tz>), as
  // the server writes it; UTC if the browser does not know that zone.
  function clockTime(iso) {
    var options = { hour: "2-digit", minute: "2-digit" };
    var zone = document.documentElement.getAttribute("data-tz");
    try {
      return new Date(iso).toLocaleTimeString(document.documentElement.lang || undefined,
        zone ? { hour: "2-digit", minute: "2-digit", timeZone: zone } : options);
    } catch (e) {
      return iso.slice(11, 16) + " UTC";
    }
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

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  // The same actions the server writes into a room page (realtime/views.py, chat_rows).
  function menu(id) {
    var details = el("details", "chat-msg-menu");
    var summary = el("summary");
    summary.title = T("chat.menu", "Flag or block");
    var dots = el("span", null, "…");
    dots.setAttribute("aria-hidden", "true");
    summary.appendChild(dots);
    summary.appendChild(el("span", "visually-hidden", T("chat.actions", "Actions for this message")));
    details.appendChild(summary);
    var flag = el("a", null, T("chat.flag", "Flag"));
    flag.href = "/flag/chat/" + id;
    details.appendChild(flag);
    details.appendChild(document.createTextNode(" "));
    var block = el("form", "inline-form chat-block");
    block.method = "post";
    block.action = "/block/chat/" + id;
    var token = el("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrfToken();
    block.appendChild(token);
    var button = el("button", "button-secondary", T("chat.block", "Block"));
    button.type = "submit";
    block.appendChild(button);
    details.appendChild(block);
    return details;
  }

  var BLOCK_ERRORS = {
    400: T("chat.block_400", "You can't block that person."),
    404: T("chat.block_404", "That message is gone."),
    409: T("chat.block_409", "You have already blocked them."),
    429: T("chat.block_429", "Too many tries. Please wait a moment and try again.")
  };

  // Block without leaving the room; the server then sends "removed" to this person only.
  log.addEventListener("submit", function (event) {
    var target = event.target;
    if (!target.classList || !target.classList.contains("chat-block") || typeof window.fetch !== "function") { return; }
    event.preventDefault();
    window.fetch(target.action, {
      method: "POST", body: new FormData(target), credentials: "same-origin", redirect: "follow"
    }).then(function (response) {
      if (response.ok) {
        say(T("chat.blocked", "Blocked. You won't see their messages any more. They are not told."));
        var li = target.closest(".chat-msg");
        if (li) { remove(parseInt(li.getAttribute("data-seq"), 10)); }
      } else {
        say(BLOCK_ERRORS[response.status] || T("chat.block_failed", "Could not block just now. Please try again."));
      }
    }, function () { say(T("chat.block_failed", "Could not block just now. Please try again.")); });
  });

  function show(m) {
    if (!m || typeof m.seq !== "number" || shown[m.seq]) { return; }  // dedupe by seq
    var empty = log.querySelector(".chat-empty");
    if (empty) { log.removeChild(empty); }
    var li = el("li", "chat-msg");
    li.id = "m-" + m.seq;
    li.setAttribute("data-id", String(m.id));
    li.setAttribute("data-seq", String(m.seq));
    li.setAttribute("data-expires", m.expires_at);
    if (m.mine !== true && typeof m.id === "number") { li.appendChild(menu(m.id)); }
    li.appendChild(el("span", "chat-msg-author", shownName(m.author)));
    li.appendChild(document.createTextNode(" "));
    var body = el("span", "chat-msg-body");
    body.innerHTML = m.html;  // the server's sanitised rendering (forum.markdown.render_inline)
    li.appendChild(body);
    li.appendChild(document.createTextNode(" "));
    var meta = el("span", "chat-msg-time");
    var time = el("time", null, clockTime(m.created_at));
    time.setAttribute("datetime", m.created_at);
    meta.appendChild(time);
    meta.appendChild(document.createTextNode(" · "));
    // The label is expiry.js's (loaded first): the same words as the server's, kept counting down.
    var expires = el("span", "expires", window.RedBrollyExpiry.label(Date.parse(m.expires_at) - Date.now()));
    expires.setAttribute("data-expires-at", m.expires_at);
    meta.appendChild(expires);
    li.appendChild(meta);
    // Keep the log in seq order even if a late batch arrives.
    var after = null;
    Object.keys(shown).forEach(function (k) {
      var s = parseInt(k, 10);
      if (s > m.seq && (after === null || s < after)) { after = s; }
    });
    log.insertBefore(li, after === null ? null : shown[after]);
    shown[m.seq] = li;
    expireLater(m.seq, m.expires_at);
  }

  function isSeq(n) { return typeof n === "number" && n >= 0 && Math.floor(n) === n; }

  // Every message from the server goes through here: live, in an ack, or in a batch.
  function receive(m) {
    if (!m || !isSeq(m.seq)) { return; }
    if (m.restored === true) { delete gone[m.seq]; }
    if (!gone[m.seq]) { show(m); }
    if (m.seq > upTo) { above[m.seq] = true; }
    settle(upTo);
  }

  // Everything up to `through` is settled (the server said so, or we showed it): move
  // upTo over it and over every seq that arrived just above; a seq further up means a
  // gap, fetched after GAP_WAIT_MS unless it fills by itself.
  function settle(through) {
    if (isSeq(through) && through > upTo) {
      Object.keys(above).forEach(function (k) { if (parseInt(k, 10) <= through) { delete above[k]; } });
      upTo = through;
    }
    while (above[upTo + 1]) { delete above[upTo + 1]; upTo += 1; }
    if (Object.keys(above).length && gapTimer === null && !filling) {
      gapTimer = window.setTimeout(fill, GAP_WAIT_MS);
    }
  }

  function fill() {
    gapTimer = null;
    // Disconnected: the "join" after the reconnect resumes after upTo anyway.
    if (filling || !Object.keys(above).length || !socket.connected) { return; }
    filling = true;
    socket.timeout(ANSWER_WAIT_MS).emit("history", { room_id: roomId, after_seq: upTo }, function (err, ack) {
      filling = false;
      if (!err && ack && ack.ok) {
        ack.messages.forEach(receive);
        settle(ack.through);
        if (ack.more) { fill(); return; }
      }
      settle(upTo);  // a failed answer, or a new gap since: try again after the wait
    });
  }

  // Messages the server already rendered into the page: a snapshot, so every seq up
  // to the newest one shown is settled.
  Array.prototype.forEach.call(log.querySelectorAll(".chat-msg"), function (li) {
    var seq = parseInt(li.getAttribute("data-seq"), 10);
    shown[seq] = li;
    if (seq > upTo) { upTo = seq; }
    expireLater(seq, li.getAttribute("data-expires"));
  });

  function say(text) {
    typingLine.textContent = text;
  }

  // The privacy guard's question: show what it found; "Send anyway" re-sends the same id.
  var warning = null;
  function clearWarning() {
    if (warning && warning.parentNode) { warning.parentNode.removeChild(warning); }
    warning = null;
  }
  function askToConfirm(clientId, body, ack) {
    clearWarning();
    warning = el("div", "card");
    warning.id = "chat-warning";
    warning.setAttribute("role", "alert");
    warning.appendChild(el("p", null, ack.error));
    var list = el("ul");
    (Array.isArray(ack.findings) ? ack.findings.slice(0, 10) : []).forEach(function (f) {
      if (f && typeof f.text === "string") { list.appendChild(el("li", null, f.text)); }
    });
    warning.appendChild(list);
    var again = el("button", "button-danger", T("chat.send_anyway", "Send anyway"));
    again.type = "button";
    again.addEventListener("click", function () {
      clearWarning();
      if (form && form.elements.body.value === body) { form.elements.body.value = ""; }
      send(clientId, body, true);
    });
    var edit = el("button", "button-secondary", T("chat.edit_it", "Edit it"));
    edit.type = "button";
    edit.addEventListener("click", function () { clearWarning(); if (form) { form.elements.body.focus(); } });
    warning.appendChild(again);
    warning.appendChild(document.createTextNode(" "));
    warning.appendChild(edit);
    if (form && form.parentNode) { form.parentNode.insertBefore(warning, form); }
  }

  var socket = window.io("/chat", {
    transports: ["websocket", "polling"],
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 30000,
    randomizationFactor: 0.5,
    // The room is asked for in the handshake, at every (re)connect with what the page
    // shows by then: the server joins at connect and answers "joined" (the join ack).
    auth: function (cb) { cb({ room_id: roomId, after_seq: upTo }); }
  });
  window.rbSocket = socket;  // static/js/safety.js listens on this page's one connection
  setState("connecting");

  function join() {
    if (joinTimer !== null) { window.clearTimeout(joinTimer); joinTimer = null; }
    socket.timeout(ANSWER_WAIT_MS).emit("join", { room_id: roomId, after_seq: upTo }, function (err, ack) {
      // No answer in time, or the socket dropped (the reconnect joins anyway, see joinLater).
      if (err) { joinLater(null); return; }
      joined(ack);
    });
  }

  // A join's answer: the "join" event's ack, or "joined" for the join asked at connect.
  function joined(ack) {
    if (!ack || !ack.ok) {
      say(ack ? ack.error : T("chat.join_failed", "Could not join the room."));
      // Connected but not in the room: nothing arrives live and nothing is resumed.
      // A busy or failing server (5xx, 429) is asked again after a growing wait (the
      // next reconnect would never come); a refusal (not a member, signed out) stands.
      if (!ack || ack.status >= 500 || ack.status === 429) { joinLater(ack); }
      return;
    }
    joinTries = 0;
    ack.messages.forEach(receive);
    settle(ack.through);
    if (ack.presence) { showPresence(ack.presence); }
    if (ack.more) { join(); return; }  // a long absence: fetch the next batch
    setState("connected");
    Object.keys(pending).forEach(resend);  // in the order they were written
  }

  function joinLater(ack) {
    var wait = Math.min(RETRY_MAX_MS, RETRY_MS * Math.pow(2, joinTries));
    if (ack && ack.retry_after > 0) { wait = Math.max(wait, ack.retry_after * 1000); }
    joinTries += 1;
    joinTimer = window.setTimeout(function () {
      joinTimer = null;
      if (socket.connected) { join(); }  // offline: the reconnect joins anyway
    }, wait);
  }

  // Resends wait their turn: one every RESEND_GAP_MS, in order, each id once.
  var resends = [];
  var resendTimer = null;
  function resend(clientId) {
    if (resends.indexOf(clientId) < 0) { resends.push(clientId); }
    if (resendTimer === null) { nextResend(); }
  }
  function nextResend() {
    resendTimer = null;
    if (!socket.connected) { return; }  // the next join queues them again
    var clientId = resends.shift();
    if (clientId === undefined) { return; }
    var p = pending[clientId];
    if (p) { send(clientId, p.body, p.confirmed); }
    resendTimer = window.setTimeout(nextResend, RESEND_GAP_MS);
  }

  function settled(clientId) {
    delete pending[clientId];
    if (retryTimers[clientId]) { window.clearTimeout(retryTimers[clientId]); delete retryTimers[clientId]; }
  }

  // Send a pending message again later (while offline, the next join sends it anyway).
  // `again`: the server said to (5xx). Otherwise only if it went out on an earlier
  // connection, whose answer can no longer come; on this one, keep waiting.
  function retryIn(clientId, wait, again) {
    if (retryTimers[clientId]) { window.clearTimeout(retryTimers[clientId]); }
    retryTimers[clientId] = window.setTimeout(function () {
      delete retryTimers[clientId];
      var p = pending[clientId];
      if (!p || !socket.connected) { return; }
      if (again || p.conn !== connections) { resend(clientId); } else { retryIn(clientId, wait, false); }
    }, wait);
  }

  function send(clientId, body, confirmed) {
    confirmed = confirmed === true;
    var tries = pending[clientId] ? pending[clientId].tries + 1 : 0;
    pending[clientId] = { body: body, confirmed: confirmed, tries: tries, conn: connections };
    retryIn(clientId, ACK_WAIT_MS, false);
    socket.emit("send", { room_id: roomId, client_id: clientId, body: body, confirmed: confirmed }, function (ack) {
      if (!ack || !pending[clientId]) { return; }  // answered already (a retry's ack came first)
      if (ack.ok && ack.held) {
        settled(clientId);
        say(ack.notice);
      } else if (ack.ok) {
        settled(clientId);
        ack.message.mine = true;
        receive(ack.message);
        toNewest();
        say("");
      } else if (ack.status >= 500 || ack.status === 429) {
        // "Nothing you sent was lost" (or "too fast"): still ours to send, with the same id.
        say(T("chat.not_sent", "Not sent yet. Trying again…"));
        retryIn(clientId, Math.min(RETRY_MAX_MS, RETRY_MS * Math.pow(2, pending[clientId].tries)), true);
      } else if (ack.needs_confirmation) {
        settled(clientId);
        if (form && !form.elements.body.value) { form.elements.body.value = body; }
        say("");
        askToConfirm(clientId, body, ack);
      } else {
        // Refused for good (too long, muted): give the text back, say why.
        settled(clientId);
        if (form && !form.elements.body.value) { form.elements.body.value = body; }
        say(ack.error);
      }
    });
  }

  function showPresence(p) {
    if (p.room_id !== roomId) { return; }
    presence.textContent = T("chat.online", "{n} online", { n: p.count });
    if (p.names) {
      var list = el("ul", "presence");
      p.names.forEach(function (name) { list.appendChild(el("li", null, name)); });
      presence.appendChild(list);
    }
  }

  // The answer to the join asked for in the handshake. The server sends it before the
  // connect itself, and socket.io hands events that came before "connect" over before
  // it: so at "connect" it is here, or the server did not join (one from before this
  // protocol), and the "join" event asks.
  var ready = false;
  var early = null;
  socket.on("joined", function (ack) { if (ready) { joined(ack); } else { early = ack; } });

  socket.on("connect", function () {
    connections += 1;
    filling = false;  // an answer lost with the old connection
    ready = true;
    if (joinTimer !== null) { window.clearTimeout(joinTimer); joinTimer = null; }  // the old connection's
    var ack = early;
    early = null;
    if (ack) { joined(ack); } else { join(); }
    if (heartbeat) { window.clearInterval(heartbeat); }
    heartbeat = window.setInterval(function () { socket.emit("heartbeat", {}); }, HEARTBEAT_MS);
  });
  socket.on("disconnect", function (reason) {
    ready = false;
    early = null;
    setState(reason === "io server disconnect" ? "offline" : "reconnecting");
  });
  socket.on("connect_error", function () { setState(socket.active ? "reconnecting" : "offline"); });
  socket.io.on("reconnect_attempt", function () { setState("reconnecting"); });
  socket.on("message", function (m) { if (m && m.room_id === roomId) { receive(m); } });
  socket.on("removed", function (r) {
    if (r.room_id !== roomId) { return; }
    r.seqs.forEach(function (seq) {
      if (!isSeq(seq)) { return; }
      gone[seq] = true;
      remove(seq);
      if (seq > upTo) { above[seq] = true; }  // it existed, and is settled: gone
    });
    settle(upTo);
  });
  socket.on("presence", showPresence);
  socket.on("typing", function (t) {
    if (t.room_id !== roomId) { return; }
    say(T("chat.typing_one", "{name} is typing…", { name: t.name }));
    window.setTimeout(function () { say(""); }, 4000);
  });
  socket.on("closed", function (c) {
    if (c.room_ids.indexOf(roomId) !== -1) { say(c.code === "not_member" ? T("chat.not_member", c.reason) : c.reason); setState("offline"); socket.disconnect(); }
  });
  socket.on("muted", function () { say(T("chat.muted", "You are muted in this space for now.")); });
  socket.on("signed_out", function () { setState("offline"); say(T("chat.signed_out", "You are signed out.")); });

  if (form) {
    var lastTyping = 0;
    form.addEventListener("submit", function (event) {
      if (!socket.connected) { return; }  // offline: let the plain form post it
      event.preventDefault();
      var body = form.elements.body.value;
      if (!body.trim()) { return; }
      form.elements.body.value = "";
      clearWarning();
      // A page the server re-rendered with the guard's "send anyway" box (no socket then).
      var box = form.elements.confirm;
      if (box && box.checked && form.elements.client_id) {
        send(form.elements.client_id.value, body, true);
      } else {
        send(newClientId(), body, false);
      }
    });
    form.elements.body.addEventListener("input", function () {
      if (section.getAttribute("data-typing") === "1" && socket.connected && Date.now() - lastTyping > 3000) {
        lastTyping = Date.now();
        socket.emit("typing", { room_id: roomId }, function () {});
      }
    });
  }
})();
