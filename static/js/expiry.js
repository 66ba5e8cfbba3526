/* Remove expired content from the page, on time, without asking the server.
 * Loaded with <script src="…" defer> on pages that show expiring content.
 *
 * - Every element with data-expires-at="<ISO 8601 time>" is removed from the page
 *   when that time comes (checked every 15 s and when the tab becomes visible
 *   again, so a sleeping phone catches up at once).
 * - An element with class "expires" and data-expires-at is a label: its text is
 *   kept up to date ("disappears in 3 h"); it goes with its container.
 * Elements added later (live chat) are picked up on the next tick.
 *
 * Nothing is stored: no localStorage, sessionStorage, IndexedDB, cookies or
 * service-worker cache. Without JavaScript, the server renders the same label
 * (the disappears_in filter) and never serves expired content.
 */
(function () {
  "use strict";

  var TICK_MS = 15000;

  function parse(value) {
    var t = Date.parse(value);
    return isNaN(t) ? null : t;
  }

  function label(ms) {
    var minutes = Math.floor(ms / 60000);
    if (ms <= 60000) { return "disappears in a moment"; }
    if (minutes < 60) { return "disappears in " + minutes + " min"; }
    var hours = Math.floor(ms / 3600000);
    if (hours < 48) { return "disappears in " + hours + " h"; }
    var days = Math.floor(ms / 86400000);
    return "disappears in " + days + (days === 1 ? " day" : " days");
  }

  function sweep() {
    var now = Date.now();
    var nodes = document.querySelectorAll("[data-expires-at]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var when = parse(node.getAttribute("data-expires-at"));
      if (when === null) { continue; }
      var isLabel = node.classList && node.classList.contains("expires");
      if (when <= now) {
        if (isLabel) {
          // A label goes with the thing it describes; if that thing has no
          // data-expires-at of its own, remove the label's closest item.
          var owner = node.parentNode && node.parentNode.closest
            ? node.parentNode.closest("[data-expires-at]") : null;
          if (!owner) { node.parentNode && node.parentNode.removeChild(node); }
        } else if (node.parentNode) {
          node.parentNode.removeChild(node);
        }
      } else if (isLabel) {
        var text = label(when - now);
        if (node.textContent !== text) { node.textContent = text; }
      }
    }
  }

  window.RedBrollyExpiry = { sweep: sweep, label: label };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", sweep);
  } else {
    sweep();
  }
  window.setInterval(sweep, TICK_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { sweep(); }
  });
})();
