/* The saferhub map: draws layers the jobs published (never computes them), plus the hub's open
   cases and plans for the signed-in user (and, for the police, where missing children were found).
   Hot cells are SVG paths (real, focusable elements tests and screen readers can find); wards and
   LSOAs (a thousand outlines) are drawn on a canvas, which is many times faster to draw.
   Every force's layers (saferhub national run --layers) come through the force chooser; ready mark
   data-hotspots-force: the force whose cells are drawn ("" for this force's own).
   Helpers: map-util.js (SH), map-legend.js, map-labels.js, map-cells.js, map-national.js. */
(function () {
  "use strict";
  var $ = SH.$, esc = SH.esc, fmt = SH.fmt, legend = SH.legend;
  var catalogue = JSON.parse($("catalogue").textContent).layers;
  var config = JSON.parse($("config").textContent);
  var view = config.view || {};
  var map = L.map("map", { preferCanvas: false, zoomSnap: 0.5, fadeAnimation: false });  // popups show at once
  if (view.center) { map.setView(view.center, view.zoom); }
  else if (view.bounds) { map.fitBounds(view.bounds, { padding: [10, 10] }); }
  else { map.setView([53.42, -2.95], 10); }
  SH.ready("view", view.source || "default");
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { maxZoom: 19, attribution: "Background map: your tile server" }).addTo(map);
  }
  map.createPane("boundaries").style.zIndex = 350;  // under the cells (400), above tiles (200)
  var canvas = L.canvas({ pane: "boundaries" }), svg = L.svg({ pane: "boundaries" });
  var BOUNDARY = { force: [2.5, "#111", "Force area"], districts: [2, "#333", "District (council)"],
    wards: [1, "#555", "Ward"], lsoas: [0.5, "#777", "LSOA (neighbourhood of about 1,500 people)"] };
  var hotLayer = null, hotKey = "", boundaries = {}, patrol = null, hubLayers = {};
  var fitted = Boolean(view.center || view.bounds);

  if (view.center) {  // where a link pointed: a ring, so the eye finds it on a map without tiles
    L.circleMarker(view.center, { radius: 10, color: "#0b4f9c", weight: 3, fill: false, interactive: false, pane: "markerPane" }).addTo(map);
    legend.set("link", legend.ring("#0b4f9c") + "The place the link points to");
  }
  if (view.layer && $("method").querySelector("option[value='" + view.layer + "']")) { $("method").value = view.layer; }

  var national = SH.national(map, catalogue, function (force) {  // another force chosen: its layers, fitted to it
    var hot = force && force.layers.filter(function (l) { return l.method === "gistar" && l.hot_bounds; })[0];
    fillCategories();
    hotKey = "";
    fitted = Boolean(hot);
    drawHotspots();
    if (hot) { map.fitBounds(hot.hot_bounds, { padding: [10, 10], animate: false }); }  // its zoomend redraws at the new block size
  });
  function hotspotEntries() { return national.entries().filter(function (l) { return l.group === "hotspots" || l.group === "forecast"; }); }
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
  function clearHotspots() { if (hotLayer) { map.removeLayer(hotLayer); hotLayer = null; } hotKey = ""; }
  function drawHotspots(keepMonths) {
    var method = $("method").value;
    if (method === "none") { clearHotspots(); legend.drop("hotspots"); $("layer-note").textContent = ""; return; }
    var entry = entryFor(method, $("categories").value);
    if (!keepMonths) { fillMonths(entry); }
    if (!entry) { clearHotspots(); legend.drop("hotspots"); $("layer-note").textContent = "This layer has not been published yet."; return; }
    $("layer-note").textContent = (entry.force_label ? entry.force_label + ": published " : "Published ") + entry.published.replace("T", " ").slice(0, 16) + " UTC.";
    var range = monthRange(entry);
    var key = [entry.name, SH.cells.factorFor(entry, map).factor, range].join("|");
    if (key === hotKey) { return; }  // a zoom that keeps the same block size redraws nothing
    hotKey = key;
    SH.cells(map, entry, method, range, function (layer, n, level, legendHtml) {
      if (hotKey !== key) { return; }  // a newer choice or zoom won
      if (hotLayer) { map.removeLayer(hotLayer); }
      hotLayer = layer.addTo(map);
      legend.set("hotspots", legendHtml);
      if (!fitted && n) { fitted = true; map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
      SH.ready("hotspots-factor", level.factor);
      SH.ready("hotspots-force", entry.force || "");
      SH.ready("hotspots-drawn", n);
      if (window.performance && performance.mark) { performance.mark("hotspots-drawn"); }
      prefetchBoundaries();
    }).catch(function (e) { hotKey = ""; $("layer-note").textContent = "Could not load the layer: " + e.message; });
  }
  function boundaryLevel(entry) {
    var z = map.getZoom(), levels = entry.levels || [];
    for (var i = 0; i < levels.length; i++) { if (z <= levels[i].max_zoom) { return levels[i].name; } }
    return levels.length ? levels[levels.length - 1].name : entry.name;
  }
  /* After the first paint, fetch the ward and LSOA outlines for this zoom while the browser is idle,
     so ticking their boxes draws from memory instead of waiting on the network and the server. */
  function prefetchBoundaries() {
    if (prefetchBoundaries.done) { return; }
    prefetchBoundaries.done = true;
    var idle = window.requestIdleCallback || function (f) { return setTimeout(f, 0); };
    idle(function () {
      ["wards", "lsoas"].forEach(function (name) {
        var entry = catalogue.filter(function (l) { return l.name === "boundary-" + name; })[0];
        if (entry) { SH.fetchJSON("/web/layers/" + boundaryLevel(entry) + ".geojson").catch(function () {}); }
      });
    });
  }
  function markBoundaries() {  // e.g. data-boundaries-drawn="lsoas wards", data-boundaries-features="lsoas:910 wards:111"
    // a ready mark: set only once every ticked boundary is drawn (none still being fetched)
    if (Object.keys(boundaries).some(function (k) { return !boundaries[k].layer; })) { return; }
    var drawn = Object.keys(boundaries).sort();
    SH.ready("boundaries-features", drawn.map(function (k) { return k + ":" + boundaries[k].layer.getLayers().length; }).join(" "));
    SH.ready("boundaries-drawn", drawn.join(" "));
  }
  function drawBoundary(name, on) {
    var entry = catalogue.filter(function (l) { return l.name === "boundary-" + name; })[0];
    var want = on && entry ? boundaryLevel(entry) : null, have = boundaries[name];
    if (have && have.level === want) { return; }
    if (have && have.layer) { map.removeLayer(have.layer); }
    delete boundaries[name];
    if (!want) { legend.drop(name); markBoundaries(); return; }
    var s = BOUNDARY[name], slot = boundaries[name] = { level: want, layer: null };
    SH.fetchJSON("/web/layers/" + want + ".geojson").then(function (gj) {
      if (boundaries[name] !== slot) { return; }  // unticked or zoomed to another level meanwhile
      slot.layer = L.geoJSON(gj, { renderer: name === "wards" || name === "lsoas" ? canvas : svg,
        interactive: name === "wards" || name === "districts", style: { color: s[1], weight: s[0], fill: false },
        onEachFeature: function (f, l) { l.bindTooltip(esc(f.properties.name), { sticky: true }); } }).addTo(map);
      legend.set(name, legend.line(s[1], Math.max(1, Math.round(s[0]))) + s[2] + " boundaries");
      markBoundaries();
    }).catch(function () { delete boundaries[name]; markBoundaries(); });
  }
  function drawPatrol(on) {
    if (patrol) { map.removeLayer(patrol); patrol = null; }
    var entry = catalogue.filter(function (l) { return l.name === "patrol-areas"; })[0];
    if (!on || !entry) { legend.drop("patrol"); return; }
    SH.fetchJSON("/web/layers/patrol-areas.geojson").then(function (gj) {
      patrol = L.geoJSON(gj, { style: { color: "#5b2a86", weight: 2, fillOpacity: 0.15 },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindPopup("<div class='popup'><strong>" + esc(p.name) + "</strong> (priority " + esc(p.rank) + ")" +
            (p.simulated ? " <span class='sim'>simulated</span>" : "") + "<table>" +
            "<tr><th>Visits this week</th><td>" + fmt(p.visits, 0) + "</td></tr>" +
            "<tr><th>Minutes (at least)</th><td>" + fmt(p.minutes_min, 0) + " of " + fmt(p.planned_minutes, 0) + " planned</td></tr>" +
            "<tr><th>Time patrolled against plan</th><td>" + (p.compliance_pct === null || p.compliance_pct === undefined ? "no patrols recorded" :
              fmt(p.compliance_pct, 0) + "%" + (p.compliance_pct > 100 ? " (more time than planned)" : "")) + "</td></tr></table></div>");
        } }).addTo(map);
      $("patrol-note").textContent = (entry.simulated ? "Simulated patrol data. " : "") + "Week from " + esc(entry.week_start) + ".";
      legend.set("patrol", legend.fill("#5b2a86") + "Patrol area (this week's visits in its popup)" + (entry.simulated ? " <span class='sim'>simulated</span>" : ""));
    });
  }
  var HUB = { cases: ["#000", "Open case (its page in the popup)"], plans: ["#0b7a3b", "Problem-solving plan"] };
  function drawHub(kind, on) {
    if (hubLayers[kind]) { map.removeLayer(hubLayers[kind]); delete hubLayers[kind]; }
    if (!on) { legend.drop(kind); return; }
    SH.fetchJSON("/web/hub-layers/" + kind + ".geojson").then(function (gj) {
      hubLayers[kind] = L.geoJSON(gj, {
        pointToLayer: function (f, ll) { return L.circleMarker(ll, { radius: 6, color: HUB[kind][0], weight: 2, fillColor: "#fff", fillOpacity: 0.9 }); },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindPopup(kind === "cases" ? "<a href='/web/cases/" + p.id + "'>" + esc(p.ref) + "</a>: " + esc(p.title) + " (" + esc(p.risk) + " risk)"
            : "<a href='/web/plans/" + p.id + "'>Plan " + esc(p.id) + "</a>: " + esc(p.title) + " — " + esc(p.stage) + " (" + esc(p.case_ref) + ")");
        } }).addTo(map);
      legend.set(kind, legend.ring(HUB[kind][0]) + HUB[kind][1] + ": " + fmt(gj.features.length, 0) + " shown");
    });
  }
  /* Where missing children were found away from home (police only; the server decides): one circle
     a place, its area by the times found; places known only by words have no point and are counted. */
  var FOUND = "#8e24aa";
  function drawFound(on) {
    if (hubLayers.found) { map.removeLayer(hubLayers.found); delete hubLayers.found; }
    var box = $("found-legend");
    if (!on) { box.hidden = true; legend.drop("found"); SH.ready("found-drawn", null); return; }
    SH.fetchJSON("/web/hub-layers/found.geojson").then(function (gj) {
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
      SH.styled(box);
      box.hidden = false;
      legend.set("found", legend.fill(FOUND) + "Where missing children were found (bigger: more often)");
      SH.ready("found-drawn", located.length);
    }).catch(function (e) { box.hidden = false; box.textContent = "Could not load where children were found: " + e.message; });
  }
  var places = null;
  function drawPlaces(on) {   /* saferhub places rank: each place against its own class */
    if (places) { map.removeLayer(places); places = null; }
    if (!on) { legend.drop("places"); SH.ready("places-drawn", null); return; }
    SH.fetchJSON("/web/layers/places-problem-premises.geojson").then(function (gj) {
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
      legend.set("places", legend.fill("#d62f27") + "Problem premises, well above their class; " + legend.fill("#9e9e9e") + "other premises");
      SH.ready("places-drawn", gj.features.length);
    }).catch(function (e) { $("places-note").textContent = "Could not load the places layer: " + e.message; });
  }
  if ($("show-places")) { $("show-places").addEventListener("change", function () { drawPlaces(this.checked); }); }
  $("method").addEventListener("change", function () { fillCategories(); hotKey = ""; drawHotspots(); });
  $("categories").addEventListener("change", function () { hotKey = ""; drawHotspots(); });
  $("month-from").addEventListener("change", function () { drawHotspots(true); });
  $("month-to").addEventListener("change", function () { drawHotspots(true); });
  var boxes = document.querySelectorAll(".boundary");
  Array.prototype.forEach.call(boxes, function (cb) {
    cb.addEventListener("change", function () { drawBoundary(cb.value, cb.checked); });
    if (cb.checked) { drawBoundary(cb.value, true); }
  });
  map.on("zoomend", function () {  // the block size and the boundaries' detail follow the zoom
    drawHotspots(true);
    Array.prototype.forEach.call(boxes, function (cb) { if (cb.checked) { drawBoundary(cb.value, true); } });
  });
  $("show-patrol").addEventListener("change", function () { drawPatrol(this.checked); });
  if (config.hub) {
    ["cases", "plans"].forEach(function (k) {
      var cb = $("show-" + k);
      if (cb) { cb.addEventListener("change", function () { drawHub(k, cb.checked); }); }
    });
    if ($("show-found")) { $("show-found").addEventListener("change", function () { drawFound(this.checked); }); }
  }
  SH.labels(map, catalogue);
  fillCategories();
  drawHotspots();
  drawPatrol(true);
})();
