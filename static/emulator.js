// The console's widget emulator: start the Wink widget with the token the
// server put in #emulator[data-token] and log every callback with its data
// and time, newest first. The widget is built when the page loads, before any
// launch, so onTokenExpired is logged at expiry even if it was never opened,
// as it would be on a customer's page.
(function () {
  "use strict";
  var root = document.getElementById("emulator");
  if (!root) return;
  var token = root.getAttribute("data-token");
  // The token is on the page once, in its box; the attribute has done its job.
  root.removeAttribute("data-token");
  var log = document.getElementById("callback-log");
  var launch = document.getElementById("launch-widget");
  var clear = document.getElementById("clear-log");
  var noscript = document.getElementById("emulator-noscript");

  function two(n, width) {
    var s = String(n);
    while (s.length < (width || 2)) s = "0" + s;
    return s;
  }

  // Times to the millisecond: callbacks often come within the same second.
  function clock(d) {
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds()) + "." + two(d.getMilliseconds(), 3);
  }

  function record(name, data, kind) {
    var empty = log.querySelector("[data-testid=log-empty]");
    if (empty) empty.remove();
    var li = document.createElement("li");
    li.setAttribute("data-callback", name);
    li.setAttribute("data-testid", "log-entry");
    if (kind) li.className = kind;
    var now = new Date();
    var time = document.createElement("time");
    time.dateTime = now.toISOString();
    time.title = now.toISOString();
    time.textContent = clock(now);
    var label = document.createElement("strong");
    label.textContent = name;
    li.append(time, " ", label);
    if (data !== undefined) {
      var code = document.createElement("code");
      code.textContent = JSON.stringify(data);
      li.append(" ", code);
    }
    log.prepend(li);
  }

  if (!token) return;
  if (typeof window.WinkWidget !== "function") {
    noscript.textContent = "The widget SDK (/static/wink.js) did not load, so the widget cannot start.";
    return;
  }

  var widget;
  try {
    widget = new window.WinkWidget({
      userToken: token,
      onReady: function (session) { record("onReady", session, "ok"); },
      onUIEvent: function (event) { record("onUIEvent", event); },
      onTokenExpired: function () { record("onTokenExpired", undefined, "warn"); },
      onClose: function (data) { record("onClose", data); },
    });
  } catch (e) {
    noscript.textContent = "The widget refused this token: " + e.message;
    return;
  }
  noscript.hidden = true;
  launch.hidden = false;
  clear.hidden = false;
  launch.addEventListener("click", function () {
    if (!widget.isOpen()) widget.open();
  });
  clear.addEventListener("click", function () {
    log.replaceChildren();
  });
  if (root.getAttribute("data-autolaunch") === "true") widget.open();
})();
