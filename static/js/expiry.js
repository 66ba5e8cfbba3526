/* Removes expired content on time; keeps "disappears in" labels current (docs/FRONTEND.md). */
(function () {
  "use strict";

  var TICK_MS = 15000;

  function parse(value) {
    var t = Date.parse(value);
    return isNaN(t) ? null : t;
  }

  // "disappears in": the same rule as the server's disappears_in (forum/expiry.py):
  // whole units rounded down, minutes under an hour, hours under two days, then days;
  // the words from Intl.RelativeTimeFormat in the page's language ("in 3 hours").
  // chat.js labels its messages with this too.
  var relative = null;

  function timeLeft(ms) {
    var s = ms / 1000;
    if (s <= 60) { return null; }
    if (s < 3600) { return [Math.floor(s / 60), "minute"]; }
    if (s < 48 * 3600) { return [Math.floor(s / 3600), "hour"]; }
    return [Math.floor(s / 86400), "day"];
  }

  // The sentence around the time comes from the page, translated by the server
  // (<html data-disappears="disappears {when}" data-disappears-soon="...">).
  function phrase(name, fallback) {
    var root = document.documentElement;
    return (root && root.getAttribute(name)) || fallback;
  }

  function label(ms) {
    var left = timeLeft(ms);
    if (left === null) { return phrase("data-disappears-soon", "disappears in a moment"); }
    if (relative === null) {
      relative = new Intl.RelativeTimeFormat(document.documentElement.lang || "en", {numeric: "always"});
    }
    return phrase("data-disappears", "disappears {when}").replace("{when}", relative.format(left[0], left[1]));
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
