/* The map's legend: one entry per layer on the map, in a fixed order, redrawn whenever a layer is
   shown or hidden (SH.legend.set(id, html) / SH.legend.drop(id)). Each entry is an <li data-legend=id>. */
(function () {
  "use strict";
  var ORDER = ["hotspots", "overview", "patrol", "places", "cases", "plans", "found", "link", "force", "districts", "wards", "lsoas", "labels"];
  var entries = {};
  function render() {
    var box = SH.$("legend");
    var ids = ORDER.filter(function (id) { return entries[id]; });
    box.innerHTML = ids.length ? "<h2>Legend</h2><ul>" + ids.map(function (id) {
      return '<li data-legend="' + id + '">' + entries[id] + "</li>";
    }).join("") + "</ul>" : "";
    SH.styled(box);
    SH.ready("legend", ids.join(" "));
  }
  SH.legend = {
    set: function (id, html) { entries[id] = html; render(); },
    drop: function (id) { if (entries[id]) { delete entries[id]; render(); } },
    // swatches: a filled square, a line, a ring (a marker's outline)
    fill: function (colour) { return '<span class="sw" data-bg="' + colour + '"></span>'; },
    line: function (colour, width) { return '<span class="sw line" data-line="' + colour + '" data-lw="' + width + '"></span>'; },
    ring: function (colour) { return '<span class="sw ring" data-ring="' + colour + '"></span>'; }
  };
})();
