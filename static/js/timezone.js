/* The browser's time zone in the rb_tz cookie (docs/FRONTEND.md). */
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
