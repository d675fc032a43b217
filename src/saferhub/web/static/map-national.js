/* Every force's layers from `saferhub national run --layers` (the server lists them in #national):
   the force chooser, and the national overview - one circle a force at a point inside its study
   area, its area by the force's hot-spot cells (99% confidence), labelled with the share of the
   force's crime in them; its popup gives the force's figures and a link that opens the map on it.
   The circles lie under the cells (a pane below them), so the chosen force's squares stay on top.
   Synthetic forces are named "(simulated)" wherever shown.
   Ready marks: data-overview-drawn (forces drawn). */
(function () {
  "use strict";
  var $ = SH.$, esc = SH.esc, fmt = SH.fmt;
  var COLOUR = "#d95f02", MAX_LABELS = 100;

  function pct(v) { return v === null || v === undefined ? "not known" : fmt(100 * v, 1) + "%"; }
  function popup(f) {
    var o = f.overview;
    return "<div class='popup'><strong>" + esc(f.label) + "</strong>" + (f.synthetic ? " <span class='sim'>simulated</span>" : "") +
      "<table><tr><th>Crimes in the layers' months</th><td>" + fmt(o.events, 0) + "</td></tr>" +
      "<tr><th>Hot-spot squares (99% confidence)</th><td>" + fmt(o.hot_cells, 0) + " of " + fmt(o.cells, 0) + " (" + pct(o.hot_cell_share) + ")</td></tr>" +
      "<tr><th>Share of the crime in them</th><td>" + pct(o.crime_in_hot_cells) + "</td></tr></table>" +
      "<a href='/web/map?force=" + encodeURIComponent(f.force) + "'>Show this force's hot spots</a></div>";
  }

  /* `local`: this force's own catalogue entries; `changed(force or null)` runs when the choice changes.
     Returns { entries() (the chosen force's layer entries), chosen() (its id, or "" for this force's own) }. */
  SH.national = function (map, local, changed) {
    var forces = JSON.parse($("national").textContent), byId = {}, sel = $("force"), overview = null;
    map.createPane("overview").style.zIndex = 390;  // above the boundaries (350), under the cells (400)
    forces.forEach(function (f) { byId[f.force] = f; });
    function current() { return (sel && byId[sel.value]) || null; }
    function note() {
      var f = current(), box = $("force-note");
      if (!box) { return; }
      box.textContent = f ? (f.synthetic ? "Simulated: real crimes of another force replayed, moved in space and time. " : "") +
        "Boundaries, place names and patrol areas stay this force's own." : "";
    }
    function drawOverview(on, fit) {
      if (overview) { map.removeLayer(overview); overview = null; }
      if (!on) { SH.legend.drop("overview"); SH.ready("overview-drawn", null); return; }
      var placed = forces.filter(function (f) { return f.overview && f.overview.centre; });
      var top = Math.max.apply(null, placed.map(function (f) { return f.overview.hot_cells || 0; }).concat([1]));
      var chosen = current(), circles = L.featureGroup(), names = L.layerGroup();
      var big = Math.min(16, map.getSize().x / 40);  // on a phone, neighbouring forces' circles do not overlap
      placed.forEach(function (f) {
        var here = chosen && chosen.force === f.force, share = f.overview.crime_in_hot_cells;
        L.circleMarker(f.overview.centre, { radius: 4 + big * Math.sqrt((f.overview.hot_cells || 0) / top), pane: "overview",
          color: here ? "#0b4f9c" : "#222", weight: here ? 3 : 1, fillColor: COLOUR, fillOpacity: 0.6 })
          .bindTooltip(esc(f.label)).bindPopup(popup(f)).addTo(circles);
        if (share !== null && share !== undefined && placed.length <= MAX_LABELS) {
          L.marker(f.overview.centre, { pane: "labels", interactive: false, keyboard: false, icon: L.divIcon(
            { className: "maplabel maplabel-overview", iconSize: [0, 0], html: "<span>" + fmt(100 * share, 0) + "%</span>" }) }).addTo(names);
        }
      });
      overview = L.layerGroup([circles, names]).addTo(map);
      if (fit && placed.length > 1) { map.fitBounds(circles.getBounds(), { padding: [20, 20], animate: false }); }
      var missing = forces.length - placed.length;
      SH.legend.set("overview", SH.legend.fill(COLOUR) + "Each force: bigger circle, more hot-spot squares (99% confidence); " +
        "the figure: its share of the force's crime; " +
        fmt(placed.length, 0) + (placed.length === 1 ? " force" : " forces") +
        (missing ? " (" + fmt(missing, 0) + " published before overviews, not drawn)" : ""));
      SH.ready("overview-drawn", placed.length);
    }
    if (sel) {
      sel.addEventListener("change", function () {
        note();
        if (overview) { drawOverview(true, false); }  // the ring moves to the chosen force
        changed(current());
      });
    }
    if ($("show-overview")) { $("show-overview").addEventListener("change", function () { drawOverview(this.checked, true); }); }
    note();
    return {
      entries: function () { var f = current(); return f ? f.layers : local; },
      chosen: function () { var f = current(); return f ? f.force : ""; }
    };
  };
})();
