/* Quick exit (docs/FRONTEND.md). */
(function () {
  "use strict";

  var PRESSES = 3;
  var WINDOW_MS = 2000;
  var presses = [];

  function exitLink(node) {
    // Walk up from the click target: Element.closest is missing on old browsers.
    while (node && node !== document) {
      if (node.nodeName === "A" && /(^|\s)quick-exit(\s|$)/.test(node.className)) {
        return node;
      }
      node = node.parentNode;
    }
    return null;
  }

  function leave(href) {
    // Hide first: on a slow connection the next page can take seconds to load.
    try { document.documentElement.style.visibility = "hidden"; } catch (e) {}
    try { document.title = ""; } catch (e) {}
    try { window.sessionStorage.clear(); } catch (e) {}
    window.location.replace(href);
  }

  document.addEventListener("click", function (event) {
    var link = exitLink(event.target);
    if (!link || !link.href) { return; }
    event.preventDefault();
    leave(link.href);
  }, true);

  document.addEventListener("keydown", function (event) {
    var isEscape = event.key === "Escape" || event.key === "Esc" || event.keyCode === 27;
    if (!isEscape || event.repeat) { return; }
    var now = new Date().getTime();
    presses.push(now);
    while (presses.length && now - presses[0] > WINDOW_MS) { presses.shift(); }
    if (presses.length >= PRESSES) {
      var link = document.querySelector("a.quick-exit");
      if (link && link.href) { leave(link.href); }
    }
  }, true);
})();
