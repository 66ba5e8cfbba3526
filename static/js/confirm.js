/* Ask before a destructive form is sent. Loaded with <script src="…" defer>.
 *
 * <form data-confirm="Delete this post?"> shows a confirm() dialog before it
 * submits; Cancel stops the submission. Progressive enhancement only: without
 * JavaScript the form submits directly, so the server must not rely on this.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.getAttribute) { return; }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, false);
})();
