// tailsse viewer: one EventSource per tab; every line is inserted as text, never as HTML.
(function () {
  "use strict";
  var logEl = document.getElementById("log");
  var statusEl = document.getElementById("status");
  var filesEl = document.getElementById("files");
  var MAX_LINES = 10000;

  function setStatus(text) { statusEl.textContent = text; }

  function append(text, cls) {
    var atBottom = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 4;
    var div = document.createElement("div");
    div.className = cls || "line";
    div.textContent = text;
    logEl.appendChild(div);
    while (logEl.childElementCount > MAX_LINES) logEl.removeChild(logEl.firstChild);
    if (atBottom) logEl.scrollTop = logEl.scrollHeight;
  }

  function follow(name) {
    var source = new EventSource("events/" + encodeURIComponent(name));
    source.onopen = function () { setStatus("live: " + name); };
    source.onerror = function () {
      setStatus(source.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting…");
    };
    source.onmessage = function (e) { append(e.data); };
    ["rotated", "truncated", "missing", "appeared", "lost", "unreadable"].forEach(function (kind) {
      source.addEventListener(kind, function (e) {
        var message = kind;
        try { message = JSON.parse(e.data).message || kind; } catch (err) { /* keep the name */ }
        append("— " + message + " —", "line meta");
      });
    });
  }

  function showFiles(files, current) {
    files.forEach(function (f) {
      var a = document.createElement("a");
      a.href = "view/" + encodeURIComponent(f.name);
      a.textContent = f.name;
      if (f.name === current) a.setAttribute("aria-current", "page");
      filesEl.appendChild(a);
    });
  }

  var current = document.querySelector('meta[name="tailsse-file"]').content;
  fetch("api/files").then(function (r) { return r.json(); }).then(function (body) {
    var files = body.files || [];
    if (!current && files.length === 1) current = files[0].name;
    showFiles(files, current);
    if (current) follow(current); else setStatus("choose a file");
  }).catch(function () { setStatus("cannot list files"); });
})();
