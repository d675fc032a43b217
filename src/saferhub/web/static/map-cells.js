/* Hotspot, density and forecast cells. Zoomed out, a 150 m cell is a few pixels: the map then
   draws the 2x2 ... 16x16 blocks `publish` made (the smallest block at least MIN_PX across), so
   every square on screen can be seen and clicked. Popups say what a square is in plain words.
   Ready marks: data-hotspots-drawn (squares drawn), data-hotspots-factor (cells per block side). */
(function () {
  "use strict";
  var MIN_PX = 10;
  var GI = { 3: "#b2182b", 2: "#ef8a62", 1: "#fddbc7", "-1": "#d1e5f0", "-2": "#67a9cf", "-3": "#2166ac" };
  var BANDS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  var esc = SH.esc, fmt = SH.fmt;

  // the smallest block (1 = the cells themselves) at least MIN_PX wide at this zoom
  function factorFor(entry, map) {
    var mpp = SH.metresPerPixel(map.getZoom(), map.getCenter().lat), size = Number(entry.cell_size) || 150;
    var options = [{ factor: 1, name: entry.name }].concat(entry.levels || []);
    for (var i = 0; i < options.length; i++) { if (options[i].factor * size / mpp >= MIN_PX) { return options[i]; } }
    return options[options.length - 1];
  }
  function confidence(hotClass) { var m = /(\d+)% confidence/.exec(hotClass || ""); return m ? m[1] + "% confidence" : ""; }
  function where(p) {
    var street = (p.street || "").replace(/^On or near /i, "");
    var parts = [street && ("on or near " + street), p.ward && (p.ward + " ward")].filter(Boolean);
    return parts.length ? parts.join(", ") : "in a square with no named street";
  }
  function crimes(p, entry, range) {
    var months = (entry && entry.months) || [], n = p.count, span = months.length;
    if (p.trend && range) { n = 0; for (var i = range[0]; i <= range[1]; i++) { n += p.trend[i]; } span = range[1] - range[0] + 1; }
    if (n === undefined || n === null) { return ""; }
    return fmt(n, 0) + (n === 1 ? " crime" : " crimes") + (span ? " in " + span + (span === 1 ? " month" : " months") : "");
  }
  // One sentence first ("Hot spot (99% confidence), 41 crimes in 12 months, on or near Bold Street, Central ward")
  function headline(p, method, entry, range, size) {
    var what;
    if (method === "gistar") {
      var kind = p.gi_bin > 0 ? (/Beside/.test(p.hot_class || "") ? "Beside a hot spot" : "Hot spot") : "Cold spot";
      what = kind + " (" + confidence(p.hot_class) + ")";
      if (p.factor) { what = "Area with " + fmt(p.hot_cells, 0) + " hot spot " + (p.hot_cells === 1 ? "square" : "squares") + " (strongest " + confidence(p.hot_class) + ")"; }
    } else if (method === "kde") {
      what = (p.factor ? "Area of dense crime" : "Dense crime") + " (band " + esc(p.band) + " of 5, about " + fmt(p.density_km2, 0) + " crimes per km²)";
    } else {
      what = (p.factor ? "Area among" : "Among") + " the riskiest squares for " + esc(entry.target_month || "next month") + " (" + fmt(p.risk_share_pct, 2) + "% of the forecast crime)";
    }
    var bits = [what, crimes(p, entry, range), (p.factor ? "busiest " : "") + where(p)].filter(Boolean);
    return bits.join(", ") + ". " + (p.factor ? "This block is " + p.factor + " × " + p.factor + " squares of " + size + " m; zoom in for each square." : "");
  }
  function sparkline(trend, months) {
    if (!trend || !months.length) { return ""; }
    var max = Math.max.apply(null, trend.concat([1]));
    return '<div class="spark" aria-hidden="true">' + trend.map(function (v, i) {
      return '<span title="' + esc(months[i]) + ": " + v + '" data-h="' + Math.max(1, 40 * v / max) + '"></span>';
    }).join("") + "</div>" + '<p class="muted">Crimes each month, ' + esc(months[0]) + " to " + esc(months[months.length - 1]) + "</p>";
  }
  function popup(p, method, entry, range) {
    var size = Number(entry.cell_size) || 150;
    return SH.node('<div class="popup"><p class="headline">' + esc(headline(p, method, entry, range, size)) + "</p>" +
      (entry.force_label ? '<p class="muted">' + esc(entry.force_label) + "</p>" : "") +
      (p.lsoa_name ? '<p class="muted">Neighbourhood (LSOA): ' + esc(p.lsoa_name) + "</p>" : "") +
      sparkline(p.trend, entry.months || []) + "</div>");
  }
  function colour(p, method, entry) {
    if (method === "gistar") { return GI[p.gi_bin] || "#ccc"; }
    if (method === "kde") { return BANDS[(p.band || 1) - 1]; }
    return BANDS[Math.min(4, Math.floor(5 * (1 - (p.rank - 1) / Math.max(1, entry.features || 1))))];
  }
  function legendHtml(method, entry, shown, level) {
    var sw = SH.legend.fill, html;
    if (method === "gistar") {
      html = "<strong>Hot and cold spots (Getis-Ord Gi*)</strong><br>" + [[3, "Hot spot, 99% confidence"], [2, "Hot spot, 95%"], [1, "Hot spot, 90%"],
        [-1, "Cold spot, 90%"], [-2, "Cold spot, 95%"], [-3, "Cold spot, 99%"]].map(function (x) { return sw(GI[x[0]]) + x[1]; }).join("<br>");
    } else {
      html = "<strong>" + (method === "kde" ? "Crime density, densest 5% of squares" : "Forecast for " + esc(entry.target_month || "next month") + ", riskiest 5% of squares") +
        "</strong><br>" + BANDS.map(function (c, i) { return sw(c) + (i === 0 ? "lower" : i === 4 ? "highest" : ""); }).join("<br>");
    }
    var size = Number(entry.cell_size) || 150, f = level.factor;
    if (entry.force_label) { html = esc(entry.force_label) + "<br>" + html; }  // a synthetic force's name says "(simulated)"
    return html + "<br>" + fmt(shown, 0) + (f > 1 ? " blocks of " + f + " × " + f + " squares (" + fmt(f * size, 0) + " m) at this zoom; zoom in for " + size + " m squares"
      : " squares of " + size + " m");
  }
  /* Draw `entry` (a catalogue entry) for `method` at the map's zoom; `range` is [first, last] month
     index or null. Calls done(layer, count). */
  SH.cells = function (map, entry, method, range, done) {
    var level = factorFor(entry, map);
    var full = !range || (range[0] === 0 && range[1] === (entry.months || []).length - 1);
    return SH.fetchJSON("/web/layers/" + level.name + ".geojson").then(function (gj) {
      var layer = L.geoJSON(gj, {
        style: function (f) { return { color: "#333", weight: 0.4, fillColor: colour(f.properties, method, entry), fillOpacity: 0.8 }; },
        filter: function (f) {  // months filter: squares with no crime in the chosen months are hidden
          if (full || !f.properties.trend) { return true; }
          for (var i = range[0]; i <= range[1]; i++) { if (f.properties.trend[i] > 0) { return true; } }
          return false;
        },
        onEachFeature: function (f, l) {  // padding: the popup pans clear of the zoom buttons, and on a
          // phone it is narrow enough to fit beside them (else its close button sits off the map's edge)
          l.bindPopup(function () { return popup(f.properties, method, entry, range); },
                      { autoPanPaddingTopLeft: L.point(50, 10), maxWidth: Math.max(160, Math.min(300, map.getSize().x - 100)) });
        }
      });
      var n = layer.getLayers().length;
      done(layer, n, level, legendHtml(method, entry, n, level));
    });
  };
  SH.cells.factorFor = factorFor;
})();
