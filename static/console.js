// tokendesk console: small enhancements. Every page works without this file.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "offscreen";
      document.body.appendChild(ta);
      ta.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(ta);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  function setupCopy(btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var label = btn.textContent;
      copyText(btn.getAttribute("data-copy")).then(function () {
        btn.textContent = "Copied";
        btn.classList.add("copied");
        btn.setAttribute("data-copied", "true");
        setTimeout(function () { btn.textContent = label; btn.classList.remove("copied"); }, 1500);
      }, function () {
        btn.textContent = "Select and copy";
      });
    });
  }

  // span writes a duration as the server does (views.Span): "12 s",
  // "3 min", "4 h 59 min", "2 d 3 h".
  function span(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) { return s + " s"; }
    var m = Math.floor(s / 60);
    if (m < 60) { return m + " min"; }
    var h = Math.floor(m / 60);
    if (h < 48) { return h + " h" + (h < 6 && m % 60 ? " " + (m % 60) + " min" : ""); }
    var d = Math.floor(h / 24);
    return d + " d" + (d < 7 && h % 24 ? " " + (h % 24) + " h" : "");
  }

  function countdown(s) {
    if (s <= 0) { return "expired"; }
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return (h > 0 ? h + ":" + two(m) : m) + ":" + two(sec);
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      if (isNaN(t)) { return; }
      var d = t - now;
      el.textContent = Math.abs(d) < 5000 ? "just now" : (d < 0 ? span(-d) + " ago" : "in " + span(d));
    });
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      if (isNaN(t)) { return; }
      var left = Math.floor((t - now) / 1000);
      el.textContent = left > 0 ? "expires in " + countdown(left) : "expired " + span(now - t) + " ago";
      el.classList.toggle("expired", left <= 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.copy[data-copy]").forEach(setupCopy);
    // Confirmation checkboxes: keep the destructive button disabled until ticked.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      var box = form.querySelector("input[name=confirm]");
      var btn = form.querySelector("button[type=submit]");
      if (!box || !btn) { return; }
      var sync = function () { btn.disabled = !box.checked; };
      box.addEventListener("change", sync);
      sync();
    });
    tick();
    setInterval(tick, 1000);
    // Pages with work in progress ask to be reloaded every few seconds.
    var refresh = document.querySelector("meta[name=tokendesk-refresh]");
    if (refresh) {
      setTimeout(function () { window.location.reload(); }, (parseInt(refresh.content, 10) || 3) * 1000);
    }
  });
})();
