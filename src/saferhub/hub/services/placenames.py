"""Places named the way a person reads them: "On or near Bold Street, Central ward (Liverpool)",
never a police.uk snap point alone ("On or near Parking Area") or an LSOA code, with a link that
opens the map centred there (`/web/map?lat=..&lon=..&zoom=17`).

Wards and LSOAs come from the boundaries the main job published (`saferhub publish boundaries`:
the `boundary-wards` and `boundary-lsoas` products, WGS84, from SAFERHUB_GEO_DIR). A ward's
district is the name of the LSOAs in it ("Liverpool 060C" is in Liverpool). Street points (to put
a case "on Bold Street in Central ward") are the event store's police.uk snap points. Everything is
read once per process and per file version (mtime), then looked up vectorised. No boundaries
published: names are just the street, and the caller says so rather than guessing."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from saferhub.data.products import products_dir

MAP_ZOOM = 17


def map_href(lat: float | None, lon: float | None) -> str:
    """The map centred on a point (the map page reads exactly these parameters)."""
    if lat is None or lon is None:
        return "/web/map"
    return f"/web/map?lat={lat:.5f}&lon={lon:.5f}&zoom={MAP_ZOOM}"


def district_of(lsoa_name: str | None) -> str:
    """'Liverpool 060C' -> 'Liverpool' (ONS LSOA names are the district and a code)."""
    m = re.match(r"^(.*\S)\s+\d{3}[A-Z]$", _text(lsoa_name))
    return m.group(1) if m else ""


def _text(v) -> str:
    return v.strip() if isinstance(v, str) else ""  # None and NaN (a cell with no crimes) are ""


def street_words(text: str | None) -> str:
    """A police.uk snap point or partner place text as a street phrase: 'Simulated: On or near X'
    -> 'On or near X'; '' for nothing."""
    return _text(text).removeprefix("Simulated: ").strip()


def place_label(street: str | None, ward: str | None, district: str | None = None) -> str:
    """'On or near Bold Street, Central ward (Liverpool)'; the parts that are known, in that order."""
    street, ward, district = street_words(street), _text(ward), _text(district)
    where = f"{ward} ward" if ward else ""
    if where and district:
        where += f" ({district})"
    parts = [p for p in (street, where) if p]
    return ", ".join(parts) if parts else "Unknown place"


@dataclass
class Gazetteer:
    ward_names: np.ndarray       # per ward polygon
    ward_codes: np.ndarray
    ward_districts: np.ndarray
    ward_geoms: np.ndarray       # shapely polygons, WGS84
    lsoa_codes: np.ndarray
    lsoa_names: np.ndarray
    lsoa_geoms: np.ndarray

    @functools.cached_property
    def _trees(self) -> dict:
        import shapely

        return {"ward": shapely.STRtree(self.ward_geoms), "lsoa": shapely.STRtree(self.lsoa_geoms)}

    def _find(self, which: str, lon, lat) -> np.ndarray:
        """Index of the polygon holding each point, -1 for none (first match on a shared edge)."""
        import shapely

        lon, lat = np.asarray(lon, float), np.asarray(lat, float)
        out = np.full(lon.shape, -1, dtype=int)
        geoms = self.ward_geoms if which == "ward" else self.lsoa_geoms
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not len(geoms) or not ok.any():
            return out
        pts, poly = self._trees[which].query(shapely.points(lon[ok], lat[ok]), predicate="intersects")
        pts = np.flatnonzero(ok)[pts]
        first = np.unique(pts, return_index=True)[1]
        out[pts[first]] = poly[first]
        return out

    def name_points(self, lon, lat) -> list[dict]:
        """{ward, ward_code, district, lsoa, lsoa_name} at each WGS84 point ('' where unknown)."""
        w, s = self._find("ward", lon, lat), self._find("lsoa", lon, lat)
        out = []
        for wi, si in zip(w.tolist(), s.tolist()):
            lsoa_name = str(self.lsoa_names[si]) if si >= 0 else ""
            out.append({"ward": str(self.ward_names[wi]) if wi >= 0 else "",
                        "ward_code": str(self.ward_codes[wi]) if wi >= 0 else "",
                        "district": district_of(lsoa_name) or (str(self.ward_districts[wi]) if wi >= 0 else ""),
                        "lsoa": str(self.lsoa_codes[si]) if si >= 0 else "", "lsoa_name": lsoa_name})
        return out

    @functools.cached_property
    def _ward_list(self) -> list[dict]:
        rows = [{"code": str(c), "name": str(n), "district": str(d), "label": f"{n} ({d})" if d else str(n)}
                for c, n, d in zip(self.ward_codes, self.ward_names, self.ward_districts)]
        return sorted({r["code"]: r for r in rows}.values(), key=lambda r: (r["district"], r["name"]))

    def wards(self) -> list[dict]:
        """Every ward, for a form's choice: {code, name, district, label}, by district then name."""
        return self._ward_list

    def ward(self, code: str) -> int | None:
        hit = np.flatnonzero(self.ward_codes == code)
        return int(hit[0]) if hit.size else None


def _version(folder, name: str) -> tuple[str, int]:
    for suffix in (".geojson", ".json"):  # product_path's order, without resolving the store again
        path = folder / f"{name}{suffix}"
        if path.exists():
            return str(path), path.stat().st_mtime_ns
    return "", 0


def _read_features(path: str):
    import json

    import shapely

    if not path:
        return [], np.array([], dtype=object)
    with open(path, encoding="utf-8") as f:
        feats = json.load(f).get("features", [])
    geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in feats], dtype=object)
    return [f.get("properties") or {} for f in feats], geoms


def gazetteer(store=None) -> Gazetteer:
    """The published wards and LSOAs (empty when `saferhub publish boundaries` never ran); read
    again only when a file changes."""
    folder = products_dir(store)  # resolving the store reads the settings: once per call
    return _gazetteer(_version(folder, "boundary-wards"), _version(folder, "boundary-lsoas"))


@functools.lru_cache(maxsize=4)
def _gazetteer(wards: tuple[str, int], lsoas: tuple[str, int]) -> Gazetteer:
    (wp, wg), (lp, lg) = _read_features(wards[0]), _read_features(lsoas[0])
    g = Gazetteer(np.array([p.get("name", "") for p in wp], dtype=object),
                  np.array([p.get("code", "") for p in wp], dtype=object),
                  np.full(len(wp), "", dtype=object), wg,
                  np.array([p.get("code", "") for p in lp], dtype=object),
                  np.array([p.get("name", "") for p in lp], dtype=object), lg)
    if len(wg) and len(lg):  # a ward's district: the LSOA at the ward's inner point
        import shapely

        inner = shapely.point_on_surface(wg)
        idx = g._find("lsoa", shapely.get_x(inner), shapely.get_y(inner))
        g.ward_districts = np.array([district_of(str(g.lsoa_names[i])) if i >= 0 else "" for i in idx],
                                    dtype=object)
    return g


def name_places(rows: list[dict], store=None, *, street_key: str = "street", gaz: Gazetteer | None = None) -> list[dict]:
    """Each row (with `lat`/`lon`, or BNG `x`/`y`, and a street phrase under `street_key`) gains
    `ward`, `district`, `lsoa_name` (kept when the row has one), `label` and `map_href`. `gaz`:
    a gazetteer already at hand (one per page)."""
    if not rows:
        return rows
    lon, lat = _wgs84(rows)
    names = (gaz or gazetteer(store)).name_points(lon, lat)
    for r, n, lo, la in zip(rows, names, lon.tolist(), lat.tolist()):
        ok = np.isfinite(lo) and np.isfinite(la)
        r["lat"], r["lon"] = (round(la, 6), round(lo, 6)) if ok else (None, None)
        r["ward"] = _text(r.get("ward")) or n["ward"]
        r["lsoa_name"] = _text(r.get("lsoa_name")) or n["lsoa_name"]
        r["district"] = n["district"] or district_of(r["lsoa_name"])
        r["label"] = place_label(r.get(street_key), r["ward"], r["district"])
        r["map_href"] = map_href(r["lat"], r["lon"])
    return rows


def _wgs84(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    lon = np.array([r.get("lon") if r.get("lon") is not None else np.nan for r in rows], float)
    lat = np.array([r.get("lat") if r.get("lat") is not None else np.nan for r in rows], float)
    need = np.isnan(lon) & np.array([r.get("x") is not None and r.get("y") is not None for r in rows])
    if need.any():
        from saferhub.geo.project import to_wgs84

        x = np.array([rows[i]["x"] for i in np.flatnonzero(need)], float)
        y = np.array([rows[i]["y"] for i in np.flatnonzero(need)], float)
        lo, la = to_wgs84(x, y)
        lon[need], lat[need] = lo, la
    return lon, lat
