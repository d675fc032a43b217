/* Place names on a map with no background tiles (published by `saferhub publish boundaries`):
   district names zoomed out, ward names at middle zooms, street names zoomed in. Only the names
   for the current zoom and view are put on the page. Ready marks: data-labels-zoom (the zoom the
   labels are for) and data-labels-drawn (how many). */
(function () {
  "use strict";
  var MAX_LABELS = 400;
  SH.labels = function (map, catalogue) {
    var has = {};
    catalogue.forEach(function (l) { if (l.group === "labels") { has[l.method] = l; } });
    var pane = map.createPane("labels");
    pane.classList.add("labels-pane");
    pane.style.zIndex = 450;  // above the cells (400), under popups (700); clicks pass through
    var group = L.layerGroup().addTo(map);
    var areas = null, streets = null, want = 0;
    function icon(p) {
      return L.divIcon({ className: "maplabel maplabel-" + p.kind, iconSize: [0, 0], html: "<span>" + SH.esc(p.name) + "</span>" });
    }
    function draw() {
      var z = map.getZoom(), view = map.getBounds().pad(0.2), n = 0, kinds = {};
      group.clearLayers();
      [areas, z >= 14 ? streets : null].forEach(function (gj) {
        if (!gj) { return; }
        gj.features.forEach(function (f) {
          var p = f.properties, c = f.geometry.coordinates, ll = L.latLng(c[1], c[0]);
          if (n >= MAX_LABELS || z < p.minzoom || z > p.maxzoom + 0.99 || !view.contains(ll)) { return; }
          L.marker(ll, { icon: icon(p), interactive: false, keyboard: false, pane: "labels" }).addTo(group);
          kinds[p.kind] = 1; n += 1;
        });
      });
      SH.ready("labels-kinds", Object.keys(kinds).sort().join(" "));
      SH.ready("labels-drawn", n);
      SH.ready("labels-zoom", z);
      var shown = [];
      if (kinds.district) { shown.push('<span class="maplabel-sample maplabel-district">Liverpool</span> district'); }
      if (kinds.ward) { shown.push('<span class="maplabel-sample maplabel-ward">Kirkdale</span> ward'); }
      if (kinds.street) { shown.push('<span class="maplabel-sample maplabel-street">Bold Street</span> busiest street in a square (police.uk places)'); }
      if (shown.length) { SH.legend.set("labels", "Names: " + shown.join(", ")); } else { SH.legend.drop("labels"); }
    }
    function update() {
      var z = map.getZoom(), ticket = ++want;
      var waits = [];
      if (!areas && has.areas) { waits.push(SH.fetchJSON("/web/layers/map-labels-areas.geojson").then(function (gj) { areas = gj; })); }
      if (z >= 14 && !streets && has.streets) { waits.push(SH.fetchJSON("/web/layers/map-labels-streets.geojson").then(function (gj) { streets = gj; })); }
      Promise.all(waits).then(function () { if (ticket === want) { draw(); } })
        .catch(function () { if (ticket === want) { draw(); } });  // names are a help, not the map: draw what came
    }
    map.on("zoomend moveend", update);
    update();
  };
})();
