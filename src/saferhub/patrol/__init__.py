"""Act: patrol areas from hotspots, plans and routes, visits from GPS, dosage and compliance.

One job per module: areas (merge, rank, name, stable ids), locate (point -> area), plan
(capacity, visit times, crossover), route (OR-Tools team orienteering), visits (GPS -> visits),
dosage (per area per day/week against the plan), simulate (labelled simulated tracks), report
(files, briefing and dosage pages), service (the verbs over the store), commands (the CLI).
"""
