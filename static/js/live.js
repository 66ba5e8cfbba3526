/* The live channel for forum pages (docs/FRONTEND.md). */
(function () {
  "use strict";

  var T = window.rbT;  // safety.js: words in the page's language

  if (typeof window.io !== "function" || document.getElementById("chat")) { return; }
  var lists = document.querySelectorAll("[data-live-updates]");
  var notice = document.querySelector("[data-live-thread]");
  var spaceList = document.querySelector("[data-live-space]");
  if (!lists.length && !notice && !spaceList) { return; }

  var HEARTBEAT_MS = 25000;  // realtime/sockets.py HEARTBEAT
  var threadId = notice ? parseInt(notice.getAttribute("data-live-thread"), 10) : null;
  var newReplies = 0;
  var heartbeat = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }

  function isId(value) { return typeof value === "number" && value > 0 && Math.floor(value) === value; }

  // Counted words: the plural category of the page's language picks the label
  // (forum/jslabels.py sends one per category: Russian has three, English two).
  function counted(key, n, one, other) {
    var category = n === 1 ? "one" : "other";
    try { category = new Intl.PluralRules(document.documentElement.lang || undefined).select(n); } catch (e) {}
    return T(key + "." + category, n === 1 ? one : other, { n: n });
  }

  function repliesText(n) { return counted("live.new_replies", n, "1 new reply", "{n} new replies"); }

  // --- a space's thread list -----------------------------------------------------------

  var spaceId = spaceList ? parseInt(spaceList.getAttribute("data-live-space"), 10) : null;
  var newThreads = {};
  var spaceNotice = null;

  function onNewThread(t) {
    if (!t || t.space_id !== spaceId || !isId(t.thread_id)) { return; }
    newThreads[t.thread_id] = true;
    var n = Object.keys(newThreads).length;
    if (!spaceNotice) {
      spaceNotice = el("p", "flash flash-info");
      spaceNotice.setAttribute("data-live-space-notice", "");
      spaceList.parentNode.insertBefore(spaceNotice, spaceList);
    }
    var link = el("a", null, T("live.show", "show"));
    link.setAttribute("href", spaceList.getAttribute("data-space-url"));
    spaceNotice.textContent = "";
    spaceNotice.appendChild(document.createTextNode(counted("live.new_threads", n, "1 new thread", "{n} new threads") + " \u2014 "));
    spaceNotice.appendChild(link);
  }

  // --- the updates list ------------------------------------------------------------

  function showUpdate(list, u) {
    var href = list.getAttribute("data-thread-url").replace(/0$/, String(u.thread_id));
    var old = list.querySelector('li[data-thread-id="' + u.thread_id + '"]');
    if (old) { list.removeChild(old); }
    var empty = list.querySelector("li[data-live-empty]");
    if (empty) { list.removeChild(empty); }
    var li = el("li");
    li.setAttribute("data-thread-id", String(u.thread_id));
    var link = el("a", null, u.title);
    link.setAttribute("href", href);
    li.appendChild(link);
    li.appendChild(el("p", "meta", u.space + " \u00b7 " + repliesText(u.new_posts)));
    list.insertBefore(li, list.firstChild);
    var max = parseInt(list.getAttribute("data-live-max"), 10) || 20;
    var items = list.querySelectorAll("li[data-thread-id]");
    for (var i = max; i < items.length; i++) { list.removeChild(items[i]); }
  }

  function onUpdate(u) {
    if (!u || !isId(u.thread_id) || typeof u.title !== "string" || typeof u.space !== "string" ||
        !isId(u.new_posts)) { return; }
    Array.prototype.forEach.call(lists, function (list) { showUpdate(list, u); });
  }

  // --- a thread page ---------------------------------------------------------------

  function say(nodes) {
    notice.textContent = "";
    nodes.forEach(function (n) { notice.appendChild(typeof n === "string" ? document.createTextNode(n) : n); });
    notice.hidden = false;
  }

  function threadUrl() { return notice.getAttribute("data-thread-url"); }

  function onNewReply(r) {
    if (!r || r.thread_id !== threadId || !isId(r.post_id) || !isId(r.page)) { return; }
    newReplies += 1;
    var link = el("a", null, T("live.show", "show"));
    link.setAttribute("href", threadUrl() + "?page=" + r.page + "#p" + r.post_id);
    link.addEventListener("click", function (event) {
      // Only the anchor differs when this is already the last page: reload for real.
      var target = new URL(link.href, window.location.href);
      if (target.pathname === window.location.pathname && target.search === window.location.search) {
        event.preventDefault();
        window.location.hash = target.hash;
        window.location.reload();
      }
    });
    say([repliesText(newReplies) + " \u2014 ", link]);
  }

  function onPostsRemoved(r) {
    if (!r || r.thread_id !== threadId || !Array.isArray(r.post_ids)) { return; }
    r.post_ids.forEach(function (id) {
      if (!isId(id)) { return; }
      var node = document.querySelector('[data-post-id="' + id + '"]');
      if (node && node.parentNode) { node.parentNode.removeChild(node); }
    });
  }

  function onPostChanged(c) {
    if (!c || c.thread_id !== threadId) { return; }
    var reload = el("a", null, T("live.reload", "reload to see the change"));
    reload.setAttribute("href", window.location.href);
    if (c.post_id === null) {
      say([T("live.changed", "This thread was changed \u2014") + " ", reload]);
      return;
    }
    if (!isId(c.post_id)) { return; }
    var post = document.querySelector('[data-post-id="' + c.post_id + '"]');
    if (!post || post.querySelector("[data-live-edited]")) { return; }
    var mark = el("span", "edited", T("live.edited", "edited \u2014") + " ");
    mark.setAttribute("data-live-edited", "");
    mark.appendChild(reload);
    var meta = post.querySelector(".post-meta") || post;
    meta.appendChild(document.createTextNode(" \u00b7 "));
    meta.appendChild(mark);
  }

  function gone(reason) {
    var main = document.getElementById("main") || document.body;
    Array.prototype.forEach.call(main.querySelectorAll("article.post, form, .pagination"), function (node) {
      if (node.parentNode) { node.parentNode.removeChild(node); }
    });
    var back = el("a", null, T("live.back", "Back to the space"));
    back.setAttribute("href", notice.getAttribute("data-space-url"));
    say([String(reason || T("live.gone", "This thread is gone.")) + " ", back]);
    notice.className = "flash flash-info";
    watching = false;
  }

  function onThreadGone(g) {
    if (g && g.thread_id === threadId) { gone(T("live." + g.code, g.reason)); socket.disconnect(); }
  }

  // --- the connection ----------------------------------------------------------------

  var watching = notice !== null;
  var socket = window.io("/chat", {
    transports: ["websocket", "polling"],
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 30000,
    randomizationFactor: 0.5
  });
  window.rbSocket = socket;  // static/js/safety.js listens on this page's one connection

  socket.on("connect", function () {
    if (watching) {
      socket.emit("watch_thread", { thread_id: threadId }, function (ack) {
        if (ack && !ack.ok && ack.status === 404) { gone(T("live.gone", "This thread is gone.")); socket.disconnect(); }
      });
    }
    if (heartbeat) { window.clearInterval(heartbeat); }
    heartbeat = window.setInterval(function () { socket.emit("heartbeat", {}); }, HEARTBEAT_MS);
  });
  socket.on("disconnect", function () {
    if (heartbeat) { window.clearInterval(heartbeat); heartbeat = null; }
  });
  socket.on("signed_out", function () { socket.disconnect(); });
  socket.on("update", onUpdate);
  if (spaceList) { socket.on("new_thread", onNewThread); }
  if (notice) {
    socket.on("new_reply", onNewReply);
    socket.on("posts_removed", onPostsRemoved);
    socket.on("post_changed", onPostChanged);
    socket.on("thread_gone", onThreadGone);
  }
})();
