"""The daily briefing read model and the map layers the web reads (precomputed by jobs)."""
