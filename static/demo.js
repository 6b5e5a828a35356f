// The demo page's script: launch the widget with a pasted token and list
// every callback with its data and time. A token may also arrive in the
// URL fragment (#token=…, and &open to launch at once), which never reaches
// the server or its logs.
(function () {
  "use strict";
  var form = document.getElementById("launch");
  var input = document.getElementById("token");
  var log = document.getElementById("log");
  var widget = null;

  function record(name, data) {
    var li = document.createElement("li");
    li.setAttribute("data-callback", name);
    var time = document.createElement("time");
    var now = new Date();
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString();
    var label = document.createElement("strong");
    label.textContent = name;
    li.append(time, " ", label);
    if (data !== undefined) {
      var pre = document.createElement("code");
      pre.textContent = JSON.stringify(data);
      li.append(" ", pre);
    }
    log.prepend(li);
  }

  var hash = location.hash;
  var m = /(?:^#|&)token=([^&]+)/.exec(hash);
  if (m) {
    input.value = decodeURIComponent(m[1]);
    // A used token is worthless, but the address bar is no place to keep it.
    history.replaceState(null, "", location.pathname + location.search);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var token = input.value.trim();
    if (!token) return;
    if (widget && widget.isOpen()) widget.close();
    widget = new WinkWidget({
      userToken: token,
      onReady: function (session) { record("onReady", session); },
      onTokenExpired: function () { record("onTokenExpired"); },
      onClose: function (data) { record("onClose", data); },
      onUIEvent: function (event) { record("onUIEvent", event); },
    });
    widget.open();
  });

  if (m && /(?:^#|&)open(?:=1)?(?:&|$)/.test(hash)) form.requestSubmit();
})();
