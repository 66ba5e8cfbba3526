/* Recovery codes: a "Copy all" button over the read-only box that holds them (templates/
   auth/codes.html). Without JavaScript the box is still there to select and copy. */
(function () {
  "use strict";

  var WORDS = {};
  Array.prototype.forEach.call(document.querySelectorAll("template.rb-labels"), function (node) {
    try {
      var some = JSON.parse(node.getAttribute("data-labels") || "{}");
      Object.keys(some).forEach(function (k) { WORDS[k] = some[k]; });
    } catch (e) { /* a broken block: the English words stay */ }
  });
  function T(key, fallback) {
    return typeof WORDS[key] === "string" ? WORDS[key] : fallback;
  }

  var box = document.getElementById("codes-all");
  var button = document.getElementById("copy-codes");
  var status = document.getElementById("copy-codes-status");
  if (!box || !button || !status) { return; }

  function said(ok) {
    status.textContent = ok
      ? T("codes.copied", "Copied. Paste them somewhere safe, then type the code asked below.")
      : T("codes.copy_failed", "Could not copy. Select the codes in the box and copy them.");
  }

  // Older phone browsers have no Clipboard API (or refuse it outside HTTPS): select the
  // box and use the old copy command, which also leaves the codes selected to copy by hand.
  function oldWay() {
    box.focus();
    box.select();
    box.setSelectionRange(0, box.value.length);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    said(ok);
  }

  button.addEventListener("click", function () {
    var text = box.value.replace(/\s+$/, "") + "\n";
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { said(true); }, oldWay);
    } else {
      oldWay();
    }
  });
  button.hidden = false;
})();
