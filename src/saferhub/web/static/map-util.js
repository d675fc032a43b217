/* Small helpers the map's scripts share (window.SH): cached JSON fetches, HTML escaping, styles set
   through the CSSOM (the Content-Security-Policy refuses style attributes in markup) and ready marks. */
(function () {
  "use strict";
  var cache = {};
  var SH = window.SH = {};
  SH.$ = function (id) { return document.getElementById(id); };
  SH.fetchJSON = function (url) {
    if (!cache[url]) {
      cache[url] = fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { delete cache[url]; throw new Error(r.status + " " + url); }
        return r.json();
      });
    }
    return cache[url];
  };
  SH.esc = function (s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };
  // data-h: height in px; data-bg: a fill colour; data-line: a line colour, data-lw its width in px; data-ring: a ring's colour
  SH.styled = function (root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-h]"), function (e) { e.style.height = e.getAttribute("data-h") + "px"; });
    Array.prototype.forEach.call(root.querySelectorAll("[data-bg]"), function (e) { e.style.background = e.getAttribute("data-bg"); });
    Array.prototype.forEach.call(root.querySelectorAll("[data-line]"), function (e) {
      e.style.borderTop = (e.getAttribute("data-lw") || "2") + "px solid " + e.getAttribute("data-line");
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-ring]"), function (e) { e.style.border = "2px solid " + e.getAttribute("data-ring"); });
    return root;
  };
  SH.node = function (html) { var d = document.createElement("div"); d.innerHTML = html; return SH.styled(d); };
  SH.fmt = function (v, d) { return v === null || v === undefined ? "" : Number(v).toLocaleString("en-GB", { maximumFractionDigits: d }); };
  // Ready marks: body data-* attributes the tests (and the benchmark) wait on instead of timing
  SH.ready = function (name, value) {
    if (value === null) { document.body.removeAttribute("data-" + name); return; }
    document.body.setAttribute("data-" + name, String(value));
  };
  // Metres per screen pixel at a zoom and latitude (Web Mercator, 256 px tiles)
  SH.metresPerPixel = function (zoom, lat) { return 156543.034 * Math.cos(lat * Math.PI / 180) / Math.pow(2, zoom); };
})();
