/* Times in the reader's zone: tell the server the browser's time zone in a cookie
 * (rb_tz), read by forum/i18n.py on the next page. Without JavaScript a signed-out
 * reader sees UTC; a member can choose a zone in the account settings. */
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone || !/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) { return; }
  var current = document.cookie.split("; ").filter(function (c) { return c.indexOf("rb_tz=") === 0; })[0];
  if (current === "rb_tz=" + zone) { return; }
  var secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = "rb_tz=" + zone + "; Path=/; Max-Age=31536000; SameSite=Lax" + secure;
}());
