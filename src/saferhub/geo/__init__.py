"""Geography: projection to British National Grid, the study area, and the spatial units analyses
count into. `saferhub.geo.study_area(...)` is the one study-area rule (see geo/area.py)."""


def __getattr__(name):  # lazy, so `saferhub --help` does not load shapely
    if name in ("study_area", "StudyArea"):
        from saferhub.geo import area

        return getattr(area, name)
    raise AttributeError(name)
