/* The saferhub map: draws layers the jobs published (never computes them), plus the hub's open
   cases and plans for the signed-in user (and, for the police, where missing children were found).
   SVG paths (not canvas), so every cell is a real, focusable element that tests and screen readers can find. */
(function () {
  "use strict";
  var catalogue = JSON.parse(document.getElementById("catalogue").textContent).layers;
  var config = JSON.parse(document.getElementById("config").textContent);
  var map = L.map("map", { preferCanvas: false, zoomSnap: 0.5 }).setView([53.42, -2.95], 10);
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { maxZoom: 19, attribution: "Background map: your tile server" }).addTo(map);
  }
  var GI = { 3: "#b2182b", 2: "#ef8a62", 1: "#fddbc7", "-1": "#d1e5f0", "-2": "#67a9cf", "-3": "#2166ac" };
  var BANDS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  var BOUNDARY_STYLE = { force: [2.5, "#111"], districts: [2, "#333"], wards: [1, "#555"], lsoas: [0.5, "#777"] };
  var $ = function (id) { return document.getElementById(id); };
  var hotLayer = null, boundaries = {}, patrol = null, hubLayers = {};
  var cache = {};

  function fetchJSON(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error(r.status + " " + url); }
        return r.json();
      });
    }
    return cache[url];
  }
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  // The Content-Security-Policy refuses style attributes in markup; sizes and colours are set through
  // element.style instead (allowed), from data-h (height in px) and data-bg (a colour).
  function styled(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-h]"), function (e) { e.style.height = e.getAttribute("data-h") + "px"; });
    Array.prototype.forEach.call(root.querySelectorAll("[data-bg]"), function (e) { e.style.background = e.getAttribute("data-bg"); });
    return root;
  }
  function node(html) { var d = document.createElement("div"); d.innerHTML = html; return styled(d); }
  function fmt(v, d) { return v === null || v === undefined ? "" : Number(v).toLocaleString("en-GB", { maximumFractionDigits: d }); }

  function hotspotEntries() { return catalogue.filter(function (l) { return l.group === "hotspots" || l.group === "forecast"; }); }
  function entryFor(method, cats) {
    return hotspotEntries().filter(function (l) { return l.method === method && l.categories === cats; })[0];
  }
  function fillCategories() {
    var method = $("method").value, sel = $("categories"), prev = sel.value, seen = {};
    sel.innerHTML = "";
    hotspotEntries().forEach(function (l) {
      if (l.method === method && !seen[l.categories]) {
        seen[l.categories] = 1;
        var o = document.createElement("option");
        o.value = l.categories; o.textContent = l.categories === "grip" ? "Grip crimes (violence, robbery, ASB…)" :
          l.categories === "anti-social-behaviour" ? "Anti-social behaviour" : l.categories;
        sel.appendChild(o);
      }
    });
    if (seen[prev]) { sel.value = prev; } else if (seen.grip) { sel.value = "grip"; }
  }
  function fillMonths(entry) {
    var months = (entry && entry.months) || [];
    ["month-from", "month-to"].forEach(function (id, i) {
      var sel = $(id), prev = sel.value;
      sel.innerHTML = "";
      months.forEach(function (m) { var o = document.createElement("option"); o.value = m; o.textContent = m; sel.appendChild(o); });
      sel.value = months.indexOf(prev) >= 0 ? prev : (i === 0 ? months[0] : months[months.length - 1]) || "";
      sel.disabled = months.length === 0;
    });
  }
  function monthRange(entry) {
    var months = (entry && entry.months) || [];
    var a = months.indexOf($("month-from").value), b = months.indexOf($("month-to").value);
    if (a < 0 || b < 0) { return null; }
    return a <= b ? [a, b] : [b, a];
  }
  function sparkline(trend, months) {
    if (!trend) { return ""; }
    var max = Math.max.apply(null, trend.concat([1]));
    return '<div class="spark" aria-hidden="true">' + trend.map(function (v, i) {
      return '<span title="' + esc(months[i]) + ": " + v + '" data-h="' + Math.max(1, 40 * v / max) + '"></span>';
    }).join("") + "</div>" + '<p class="muted">Monthly count, ' + esc(months[0]) + " to " + esc(months[months.length - 1]) + "</p>";
  }
  function popup(p, entry, range) {
    var rows = [];
    var place = [p.street, p.ward && ("ward " + p.ward), p.lsoa_name].filter(Boolean).join(", ");
    if (place) { rows.push(["Place", esc(place)]); }
    if (!place) { rows.push(["Place", "a square with no named street"]); }
    if (p.hot_class) { rows.push(["How sure", esc(p.hot_class)]); }
    if (p.count !== undefined) { rows.push(["Crimes (whole period)", fmt(p.count, 0)]); }
    if (p.trend && range) {
      var n = 0; for (var i = range[0]; i <= range[1]; i++) { n += p.trend[i]; }
      rows.push(["Crimes in chosen months", fmt(n, 0)]);
    }
    if (p.density_km2 !== undefined) { rows.push(["Density per km²", fmt(p.density_km2, 0)], ["Density band (1 lowest, 5 highest)", esc(p.band)]); }
    if (p.risk !== undefined) { rows.push(["Forecast share of risk", fmt(p.risk_share_pct, 3) + "%"], ["Riskiest square number", fmt(p.rank, 0)]); }
    return node('<div class="popup"><table>' + rows.map(function (r) { return "<tr><th>" + r[0] + "</th><td>" + r[1] + "</td></tr>"; }).join("") +
      "</table>" + sparkline(p.trend, (entry && entry.months) || []) + "</div>");
  }
  function style(method) {
    return function (f) {
      var p = f.properties, colour;
      if (method === "gistar") { colour = GI[p.gi_bin] || "#ccc"; }
      else if (method === "kde") { colour = BANDS[(p.band || 1) - 1]; }
      else { colour = BANDS[Math.min(4, Math.floor(5 * (1 - (p.rank - 1) / Math.max(1, entryLength))))] ; }
      return { color: "#333", weight: 0.4, fillColor: colour, fillOpacity: 0.8 };
    };
  }
  var entryLength = 1;
  function legend(method, entry, shown) {
    var html = "";
    if (method === "gistar") {
      html = "<strong>Getis-Ord Gi*</strong><br>" + [[3, "Hot spot 99%"], [2, "Hot spot 95%"], [1, "Hot spot 90%"],
        [-1, "Cold spot 90%"], [-2, "Cold spot 95%"], [-3, "Cold spot 99%"]].map(function (x) {
        return '<span data-bg="' + GI[x[0]] + '"></span>' + x[1]; }).join("<br>");
    } else if (method === "kde" || method === "forecast") {
      html = "<strong>" + (method === "kde" ? "Kernel density, densest 5% of cells" : "Forecast " + esc(entry.target_month || "") + ", riskiest 5% of cells") +
        "</strong><br>" + BANDS.map(function (c, i) { return '<span data-bg="' + c + '"></span>' + (i === 0 ? "lower" : i === 4 ? "highest" : ""); }).join("<br>");
    }
    $("legend").innerHTML = html + (entry ? "<p>" + fmt(shown, 0) + " cells shown, " + esc(entry.cell_size) + " m</p>" : "");
    styled($("legend"));
  }
  function drawHotspots() {
    var method = $("method").value;
    if (hotLayer) { map.removeLayer(hotLayer); hotLayer = null; }
    if (method === "none") { $("legend").innerHTML = ""; $("layer-note").textContent = ""; return; }
    var entry = entryFor(method, $("categories").value);
    fillMonths(entry);
    if (!entry) { $("layer-note").textContent = "This layer has not been published yet."; legend("", null, 0); return; }
    $("layer-note").textContent = "Published " + entry.published.replace("T", " ").slice(0, 16) + " UTC.";
    var range = monthRange(entry);
    fetchJSON("/web/layers/" + entry.name + ".geojson").then(function (gj) {
      entryLength = gj.features.length;
      var full = !range || (range[0] === 0 && range[1] === (entry.months || []).length - 1);
      var layer = L.geoJSON(gj, {
        style: style(method),
        filter: function (f) {  // months filter: cells with no crime in the chosen months are hidden
          if (full || !f.properties.trend) { return true; }
          for (var i = range[0]; i <= range[1]; i++) { if (f.properties.trend[i] > 0) { return true; } }
          return false;
        },
        onEachFeature: function (f, l) { l.bindPopup(function () { return popup(f.properties, entry, range); }); }
      });
      if ($("method").value !== method) { return; }
      if (hotLayer) { map.removeLayer(hotLayer); }
      hotLayer = layer.addTo(map);
      var n = layer.getLayers().length;
      legend(method, entry, n);
      if (!drawHotspots.fitted && n) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); drawHotspots.fitted = true; }
      document.body.setAttribute("data-hotspots-drawn", String(n));
      if (window.performance && performance.mark) { performance.mark("hotspots-drawn"); }
    }).catch(function (e) { $("layer-note").textContent = "Could not load the layer: " + e.message; });
  }
  function drawBoundary(name, on) {
    if (boundaries[name]) { map.removeLayer(boundaries[name]); delete boundaries[name]; }
    if (!on) { return; }
    var entry = catalogue.filter(function (l) { return l.name === "boundary-" + name; })[0];
    if (!entry) { return; }
    fetchJSON("/web/layers/boundary-" + name + ".geojson").then(function (gj) {
      var s = BOUNDARY_STYLE[name];
      boundaries[name] = L.geoJSON(gj, { interactive: name !== "lsoas" && name !== "force", style: { color: s[1], weight: s[0], fill: false },
        onEachFeature: function (f, l) { l.bindTooltip(esc(f.properties.name), { sticky: true }); } }).addTo(map);
      boundaries[name].bringToBack();
    });
  }
  function drawPatrol(on) {
    if (patrol) { map.removeLayer(patrol); patrol = null; }
    var entry = catalogue.filter(function (l) { return l.name === "patrol-areas"; })[0];
    if (!on || !entry) { return; }
    fetchJSON("/web/layers/patrol-areas.geojson").then(function (gj) {
      patrol = L.geoJSON(gj, { style: { color: "#5b2a86", weight: 2, fillOpacity: 0.15 },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindPopup("<div class='popup'><strong>" + esc(p.name) + "</strong> (rank " + esc(p.rank) + ")" +
            (p.simulated ? " <span class='sim'>simulated</span>" : "") + "<table>" +
            "<tr><th>Visits this week</th><td>" + fmt(p.visits, 0) + "</td></tr>" +
            "<tr><th>Minutes (at least)</th><td>" + fmt(p.minutes_min, 0) + " of " + fmt(p.planned_minutes, 0) + " planned</td></tr>" +
            "<tr><th>Compliance</th><td>" + (p.compliance_pct === null || p.compliance_pct === undefined ? "no patrols recorded" : fmt(p.compliance_pct, 0) + "%") + "</td></tr></table></div>");
        } }).addTo(map);
      $("patrol-note").textContent = (entry.simulated ? "Simulated patrol data. " : "") + "Week from " + esc(entry.week_start) + ".";
    });
  }
  function drawHub(kind, on) {
    if (hubLayers[kind]) { map.removeLayer(hubLayers[kind]); delete hubLayers[kind]; }
    if (!on) { return; }
    fetchJSON("/web/hub-layers/" + kind + ".geojson").then(function (gj) {
      hubLayers[kind] = L.geoJSON(gj, {
        pointToLayer: function (f, ll) { return L.circleMarker(ll, { radius: 6, color: kind === "cases" ? "#000" : "#0b7a3b", weight: 2, fillColor: "#fff", fillOpacity: 0.9 }); },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindPopup(kind === "cases" ? "<a href='/web/cases/" + p.id + "'>" + esc(p.ref) + "</a>: " + esc(p.title) + " (" + esc(p.risk) + " risk)"
            : "<a href='/web/plans/" + p.id + "'>Plan " + esc(p.id) + "</a>: " + esc(p.title) + " — " + esc(p.stage) + " (" + esc(p.case_ref) + ")");
        } }).addTo(map);
    });
  }
  /* Where missing children were found away from home (police only; the server decides): one circle
     a place, its area by the times found; places known only by words have no point and are counted. */
  var FOUND = "#8e24aa";
  function drawFound(on) {
    if (hubLayers.found) { map.removeLayer(hubLayers.found); delete hubLayers.found; }
    var box = $("found-legend");
    if (!on) { box.hidden = true; document.body.removeAttribute("data-found-drawn"); return; }
    fetchJSON("/web/hub-layers/found.geojson").then(function (gj) {
      var located = gj.features.filter(function (f) { return f.geometry; });
      var top = Math.max.apply(null, located.map(function (f) { return f.properties.episodes; }).concat([1]));
      hubLayers.found = L.geoJSON({ type: "FeatureCollection", features: located }, {
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, { radius: 4 + 10 * Math.sqrt(f.properties.episodes / top), color: "#222", weight: 1,
            fillColor: FOUND, fillOpacity: 0.8 });
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindPopup("<div class='popup'><strong>" + esc(p.place) + "</strong><table>" +
            "<tr><th>Times found here</th><td>" + fmt(p.episodes, 0) + "</td></tr>" +
            "<tr><th>Different children</th><td>" + fmt(p.people, 0) + "</td></tr>" +
            "<tr><th>Last found</th><td>" + esc((p.last_found || "").slice(0, 10)) + "</td></tr></table></div>");
        } }).addTo(map);
      var unplaced = gj.features.length - located.length;
      box.innerHTML = "<span data-bg='" + FOUND + "'></span>Found away from home, last " + fmt(gj.days || 365, 0) +
        " days: " + fmt(located.length, 0) + (located.length === 1 ? " place" : " places") + " (bigger circle: found there more often)" +
        (unplaced ? "; " + fmt(unplaced, 0) + " more known only by description, not drawn" : "") + ".";
      styled(box);
      box.hidden = false;
      document.body.setAttribute("data-found-drawn", String(located.length));
    }).catch(function (e) { box.hidden = false; box.textContent = "Could not load where children were found: " + e.message; });
  }
  var places = null;
  function drawPlaces(on) {   /* saferhub places rank: each place against its own class */
    if (places) { map.removeLayer(places); places = null; }
    if (!on) { document.body.removeAttribute("data-places-drawn"); return; }
    fetchJSON("/web/layers/places-problem-premises.geojson").then(function (gj) {
      var top = Math.max.apply(null, gj.features.map(function (f) { return f.properties.events || 0; }).concat([1]));
      places = L.geoJSON(gj, {
        pointToLayer: function (f, ll) {
          var p = f.properties;
          return L.circleMarker(ll, { radius: 3 + 9 * Math.sqrt((p.events || 0) / top), weight: 1, color: "#222",
            fillColor: p.flagged ? "#d62f27" : "#9e9e9e", fillOpacity: p.flagged ? 0.9 : 0.5 });
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindPopup("<div class='popup'><strong>" + esc(p.rank) + ". " + esc(p.name) + "</strong>" +
            (p.simulated ? " <span class='sim'>simulated</span>" : "") + "<p>" + esc(p.words) + "</p><p class='muted'>" +
            esc(p.label) + "</p></div>");
        } }).addTo(map);
      document.body.setAttribute("data-places-drawn", String(gj.features.length));
    }).catch(function (e) { $("places-note").textContent = "Could not load the places layer: " + e.message; });
  }
  if ($("show-places")) { $("show-places").addEventListener("change", function () { drawPlaces(this.checked); }); }
  $("method").addEventListener("change", function () { fillCategories(); drawHotspots(); });
  $("categories").addEventListener("change", drawHotspots);
  $("month-from").addEventListener("change", drawHotspots);
  $("month-to").addEventListener("change", drawHotspots);
  Array.prototype.forEach.call(document.querySelectorAll(".boundary"), function (cb) {
    cb.addEventListener("change", function () { drawBoundary(cb.value, cb.checked); });
    if (cb.checked) { drawBoundary(cb.value, true); }
  });
  $("show-patrol").addEventListener("change", function () { drawPatrol(this.checked); });
  if (config.hub) {
    ["cases", "plans"].forEach(function (k) {
      var cb = $("show-" + k);
      if (cb) { cb.addEventListener("change", function () { drawHub(k, cb.checked); }); }
    });
    if ($("show-found")) { $("show-found").addEventListener("change", function () { drawFound(this.checked); }); }
  }
  fillCategories();
  drawHotspots();
  drawPatrol(true);
})();
