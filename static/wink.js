/*
 * Wink widget SDK, served by tokendesk at /static/wink.js.
 *
 *   const w = new WinkWidget({ userToken, apiHost, onReady, onTokenExpired, onClose, onUIEvent });
 *   w.open(); w.updateToken(freshToken); w.close();
 *
 * SmileLinkModal takes the Smile SDK's options, so a page written for that
 * SDK works by changing only its script URL. No dependencies, no build step.
 *
 * The modal is styled through element.style (CSSOM) only: pages with a
 * strict Content-Security-Policy (style-src 'self') refuse <style> elements
 * and style attributes, but not CSSOM property assignments.
 */
(function () {
  "use strict";

  // Where this script came from: the default apiHost, so a page needs only
  // the script URL to reach the server that issued its tokens.
  var script = document.currentScript;
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;

  var MAX_TIMEOUT = 2147483647; // setTimeout's limit (~24.8 days); longer waits re-arm
  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])';
  var instances = 0;

  // claims decodes a JWT's payload without verifying it: the server verifies;
  // the SDK only needs exp (to fire onTokenExpired on time), sub and mode.
  function claims(token) {
    try {
      var part = String(token).split(".")[1];
      var b64 = part.replace(/-/g, "+").replace(/_/g, "/");
      b64 += "===".slice((b64.length + 3) % 4);
      var bytes = Uint8Array.from(atob(b64), function (ch) { return ch.charCodeAt(0); });
      var c = JSON.parse(new TextDecoder().decode(bytes));
      return c && typeof c === "object" ? c : {};
    } catch (e) {
      return {};
    }
  }

  // normalizeHost accepts "https://host", "https://host/" and the Smile
  // SDK's form "https://host/v1"; paths are appended to what remains.
  function normalizeHost(host) {
    return String(host).replace(/\/+$/, "").replace(/\/v1$/, "");
  }

  function el(tag, style, text) {
    var e = document.createElement(tag);
    if (style) Object.assign(e.style, style);
    if (text != null) e.textContent = text;
    return e;
  }

  var S = {
    overlay: { position: "fixed", inset: "0", zIndex: "2147483000", display: "flex", alignItems: "center",
      justifyContent: "center", background: "rgba(15, 23, 42, 0.55)", padding: "16px" },
    dialog: { boxSizing: "border-box", width: "100%", maxWidth: "420px", maxHeight: "calc(100vh - 32px)", overflow: "auto",
      background: "#ffffff", color: "#111827", borderRadius: "12px", boxShadow: "0 20px 50px rgba(0, 0, 0, 0.3)",
      padding: "20px 24px 24px", font: "15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", outline: "none" },
    header: { display: "flex", alignItems: "center", justifyContent: "space-between", gap: "12px", marginBottom: "8px" },
    brand: { fontSize: "12px", fontWeight: "600", letterSpacing: "0.08em", textTransform: "uppercase", color: "#4b5563" },
    closeBtn: { border: "0", background: "transparent", fontSize: "22px", lineHeight: "1", padding: "4px 8px",
      cursor: "pointer", color: "#374151", borderRadius: "6px" },
    title: { fontSize: "20px", fontWeight: "650", margin: "4px 0 8px", outline: "none" },
    text: { margin: "0 0 12px", color: "#374151", overflowWrap: "anywhere" },
    facts: { display: "grid", gridTemplateColumns: "max-content 1fr", gap: "4px 12px", margin: "0 0 16px", fontSize: "14px" },
    dt: { color: "#6b7280" },
    dd: { margin: "0", fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", overflowWrap: "anywhere" },
    badge: { display: "inline-block", padding: "0 8px", borderRadius: "999px", fontSize: "12px", fontWeight: "600",
      fontFamily: "system-ui, sans-serif" },
    actions: { display: "flex", justifyContent: "flex-end", gap: "8px" },
    primary: { border: "0", borderRadius: "8px", padding: "8px 16px", background: "#1d4ed8", color: "#ffffff",
      font: "inherit", fontWeight: "600", cursor: "pointer" },
  };

  function WinkWidget(options) {
    if (!(this instanceof WinkWidget)) throw new TypeError("WinkWidget must be called with new");
    var o = options || {};
    if (typeof o.userToken !== "string" || o.userToken === "") throw new TypeError("WinkWidget: userToken must be a link token string");
    this._host = normalizeHost(o.apiHost || scriptOrigin);
    this._on = { ready: o.onReady, tokenExpired: o.onTokenExpired, close: o.onClose, uiEvent: o.onUIEvent };
    this._id = "wink-" + ++instances;
    this._token = o.userToken;
    this._expiredToken = null; // the token onTokenExpired last fired for: once per token
    this._timer = 0;
    this._seq = 0; // bumps on every launch, so a late answer for an old token is ignored
    this._root = null;
    this._screen = "";
    this._schedule();
  }

  WinkWidget.prototype = {
    constructor: WinkWidget,

    // isOpen tells whether the modal is on the page.
    isOpen: function () {
      return this._root !== null;
    },

    // open shows the modal and starts a link session with the current token.
    open: function () {
      if (this._root) return;
      this._returnFocus = document.activeElement;
      this._build();
      this._start();
    },

    // close removes the modal and reports why. Closing from code counts as
    // "close" unless the widget is showing an error.
    close: function (reason) {
      if (!this._root) return;
      reason = reason || (this._screen === "error" || this._screen === "expired" ? "error" : "close");
      this._seq++;
      document.removeEventListener("keydown", this._onKey, true);
      document.removeEventListener("focusin", this._onFocusIn, true);
      this._root.remove();
      this._root = null;
      this._screen = "";
      document.body.style.overflow = this._bodyOverflow;
      var back = this._returnFocus;
      this._returnFocus = null;
      if (back && typeof back.focus === "function" && document.contains(back)) back.focus();
      this._call("close", { reason: reason });
    },

    // updateToken gives the widget a fresh token without closing it: an open
    // widget starts a new link session with it at once.
    updateToken: function (token) {
      if (typeof token !== "string" || token === "") throw new TypeError("updateToken: token must be a link token string");
      this._token = token;
      this._schedule();
      if (this._root) this._start();
    },

    _call: function (name, arg) {
      var fn = this._on[name];
      if (typeof fn !== "function") return;
      try {
        fn(arg);
      } catch (e) {
        // A page's callback must not break the widget; report it where the
        // page's developer looks.
        setTimeout(function () { throw e; });
      }
    },

    _uiEvent: function (eventName) {
      var c = this._session || claims(this._token);
      this._call("uiEvent", { eventName: eventName, eventTime: new Date().toISOString(),
        mode: c.mode || null, userId: c.userId || c.sub || null });
    },

    // _schedule arms the expiry timer of the current token. It runs whether
    // the modal is open or not: a page learns of expiry before its user
    // clicks a dead link.
    _schedule: function () {
      clearTimeout(this._timer);
      var token = this._token;
      var exp = claims(token).exp;
      if (typeof exp !== "number") return;
      var self = this;
      var tick = function () {
        var left = exp * 1000 - Date.now();
        if (left > 0) {
          self._timer = setTimeout(tick, Math.min(left, MAX_TIMEOUT));
          return;
        }
        self._expired(token);
      };
      // Never synchronously: the page's `const w = new WinkWidget(...)` must
      // have finished before its onTokenExpired can run.
      this._timer = setTimeout(tick, 0);
    },

    // _expired fires onTokenExpired once per token, whoever noticed first
    // (the timer or the server), and shows it if the modal is open.
    _expired: function (token) {
      if (token !== this._token || this._expiredToken === token) return;
      this._expiredToken = token;
      clearTimeout(this._timer);
      if (this._root && this._screen !== "expired") this._show("expired");
      var self = this;
      var fn = this._on.tokenExpired;
      if (typeof fn === "function") {
        try {
          // The Smile SDK hands its onTokenExpired an updater; so do we.
          fn(function (fresh) { self.updateToken(fresh); });
        } catch (e) {
          setTimeout(function () { throw e; });
        }
      }
    },

    // _start consumes the current token: POST /v1/link/sessions.
    _start: function () {
      var seq = ++this._seq;
      var token = this._token;
      this._session = null;
      var exp = claims(token).exp;
      if (typeof exp === "number" && exp * 1000 <= Date.now()) {
        this._show("expired");
        this._expired(token);
        return;
      }
      this._show("connecting");
      var self = this;
      fetch(this._host + "/v1/link/sessions", {
        method: "POST",
        headers: { Authorization: "Bearer " + token },
        credentials: "omit",
        cache: "no-store",
      }).then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          if (seq !== self._seq) return;
          if (res.ok && body && body.data) {
            self._session = body.data;
            self._show("connected");
            self._call("ready", body.data);
            return;
          }
          var reason = body && body.data && body.data.reason;
          var at = body && body.data && body.data.at;
          // The server's message is for developers (what, and when in UTC);
          // people get a sentence in their own time, and the console keeps
          // the message for whoever debugs the page.
          if (body && body.message && window.console) console.info("Wink: " + body.message);
          if (reason === "EXPIRED") {
            self._show("expired", at ? "It expired " + localTime(at) + "." : "");
            self._expired(token);
            return;
          }
          self._show("error", friendlyRefusal(reason, at, res.status), reason);
        });
      }).catch(function () {
        if (seq !== self._seq) return;
        self._show("error", "Could not reach " + self._host + ". Check the network and try again.", "NETWORK");
      });
    },

    _build: function () {
      var self = this;
      var root = el("div", S.overlay);
      root.setAttribute("data-wink", "overlay");
      var dialog = el("div", S.dialog);
      dialog.setAttribute("role", "dialog");
      dialog.setAttribute("aria-modal", "true");
      dialog.setAttribute("aria-labelledby", this._id + "-title");
      dialog.setAttribute("aria-describedby", this._id + "-body");
      dialog.tabIndex = -1;
      var header = el("div", S.header);
      header.appendChild(el("span", S.brand, "Wink"));
      var x = el("button", S.closeBtn, "\u00d7");
      x.type = "button";
      x.setAttribute("aria-label", "Close");
      x.setAttribute("data-wink", "close");
      x.addEventListener("click", function () { self.close(); });
      header.appendChild(x);
      var title = el("h2", S.title);
      title.id = this._id + "-title";
      title.tabIndex = -1;
      var body = el("div");
      body.id = this._id + "-body";
      // Screen changes (connecting -> connected) are announced to screen readers.
      body.setAttribute("aria-live", "polite");
      dialog.append(header, title, body);
      root.appendChild(dialog);
      root.addEventListener("mousedown", function (e) {
        if (e.target === root) self.close();
      });
      this._root = root;
      this._dialog = dialog;
      this._title = title;
      this._body = body;
      this._onKey = function (e) { self._key(e); };
      this._onFocusIn = function (e) {
        if (self._root && !self._dialog.contains(e.target)) self._dialog.focus();
      };
      document.addEventListener("keydown", this._onKey, true);
      document.addEventListener("focusin", this._onFocusIn, true);
      this._bodyOverflow = document.body.style.overflow;
      document.body.style.overflow = "hidden";
      document.body.appendChild(root);
      dialog.focus();
    },

    // _key closes on Escape and keeps Tab inside the dialog.
    _key: function (e) {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.close();
        return;
      }
      if (e.key !== "Tab") return;
      var items = Array.prototype.filter.call(this._dialog.querySelectorAll(FOCUSABLE), function (n) {
        return n.offsetParent !== null || n === document.activeElement;
      });
      if (items.length === 0) {
        e.preventDefault();
        this._dialog.focus();
        return;
      }
      var first = items[0], last = items[items.length - 1], active = document.activeElement;
      if (e.shiftKey && (active === first || !this._dialog.contains(active) || active === this._dialog || active === this._title)) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (active === last || !this._dialog.contains(active))) {
        e.preventDefault();
        first.focus();
      }
    },

    _show: function (screen, message, reason) {
      if (!this._root) return;
      var self = this;
      this._screen = screen;
      this._dialog.setAttribute("data-wink-screen", screen);
      var body = this._body;
      body.replaceChildren();
      var button = null;
      var event;
      if (screen === "connecting") {
        this._title.textContent = "Connecting\u2026";
        body.appendChild(el("p", S.text, "Checking your link with " + this._host.replace(/^https?:\/\//, "") + "."));
        event = "ConnectingPageOpened";
      } else if (screen === "connected") {
        var d = this._session;
        this._title.textContent = "You are connected";
        body.appendChild(el("p", S.text, "This link session belongs to the user below."));
        var facts = el("dl", S.facts);
        var mode = el("span", S.badge, d.mode);
        Object.assign(mode.style, d.mode === "PRODUCTION"
          ? { background: "#dcfce7", color: "#166534" } : { background: "#fef3c7", color: "#92400e" });
        [["User", d.userId, "user"], ["Mode", mode, "mode"], ["Token", d.tokenId, "token"],
          ["Link expires", new Date(d.expiresAt).toLocaleString(), "expires"]].forEach(function (row) {
          facts.appendChild(el("dt", S.dt, row[0]));
          var dd = el("dd", S.dd);
          dd.setAttribute("data-wink", row[2]);
          if (typeof row[1] === "string") dd.textContent = row[1];
          else dd.appendChild(row[1]);
          facts.appendChild(dd);
        });
        body.appendChild(facts);
        button = el("button", S.primary, "Done");
        button.addEventListener("click", function () { self.close("exit"); });
        event = "SessionPageOpened";
      } else if (screen === "expired") {
        this._title.textContent = "This link has expired";
        body.appendChild(el("p", S.text, "Links work for a short time only. Close this window and start again to get a new one."));
        if (message) body.appendChild(el("p", Object.assign({}, S.text, { fontSize: "13px", color: "#6b7280" }), message));
        button = el("button", S.primary, "Close");
        button.addEventListener("click", function () { self.close("error"); });
        event = "TokenExpiredPageOpened";
      } else {
        this._title.textContent = reason === "USED" ? "This link was already used"
          : reason === "NETWORK" ? "Cannot connect" : "This link does not work";
        var msg = el("p", S.text, message);
        msg.setAttribute("data-wink", "message");
        body.appendChild(msg);
        if (reason === "USED") body.appendChild(el("p", S.text, "Each link opens the widget once. Start again to get a new one."));
        button = el("button", S.primary, "Close");
        button.addEventListener("click", function () { self.close("error"); });
        event = "ErrorPageOpened";
      }
      if (button) {
        button.type = "button";
        button.setAttribute("data-wink", "primary");
        var actions = el("div", S.actions);
        actions.appendChild(button);
        body.appendChild(actions);
        button.focus();
      } else {
        this._dialog.focus();
      }
      this._uiEvent(event);
    },
  };

  // localTime writes an RFC 3339 time in the reader's own zone and words.
  function localTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    return "on " + d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // friendlyRefusal says why a link does not work, for the person holding it.
  function friendlyRefusal(reason, at, status) {
    var when = at ? " " + localTime(at) : "";
    switch (reason) {
      case "USED": return "It was already used" + when + ".";
      case "REVOKED": return "It was cancelled" + when + ".";
      case "INVALID": case "NOT_ISSUED": case "MISSING": return "This link is not one this service can open. Start again to get a new one.";
    }
    if (status >= 500) return "The service is not answering right now (error " + status + "). Try again in a moment.";
    return "The service refused this link (error " + status + "). Start again to get a new one.";
  }

  // SmileLinkModal is WinkWidget under the Smile SDK's name and options.
  // Options this SDK has no use for (templateId, topProviders,
  // onAccountConnected, ...) are accepted and ignored.
  //
  // A Smile page names Smile's own link host in apiHost. The tokens it now
  // passes are ours and that host would refuse them, so such an apiHost is
  // replaced by this script's origin: changing the script URL is enough.
  function SmileLinkModal(options) {
    if (!(this instanceof SmileLinkModal)) throw new TypeError("SmileLinkModal must be called with new");
    var o = Object.assign({}, options);
    if (o.apiHost && isSmileHost(o.apiHost)) delete o.apiHost;
    WinkWidget.call(this, o);
  }

  function isSmileHost(host) {
    try {
      var h = new URL(host).hostname;
      return h === "smileapi.io" || /\.smileapi\.io$/.test(h);
    } catch (e) {
      return false;
    }
  }
  SmileLinkModal.prototype = Object.create(WinkWidget.prototype);
  SmileLinkModal.prototype.constructor = SmileLinkModal;

  window.WinkWidget = WinkWidget;
  window.SmileLinkModal = SmileLinkModal;
})();
