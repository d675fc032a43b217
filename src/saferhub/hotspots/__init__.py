"""Find: the hotspot analysis engine — counts and harm per unit, KDE, Getis-Ord Gi*, emerging
hotspots, change between periods, concentration (Lorenz / Gini) and near repeat (Knox).

Every analysis here is a pure function on arrays or GeoDataFrames; the CLI in `commands.py` is a
thin shell that reads the event store, calls these, and writes files and reports.
"""
