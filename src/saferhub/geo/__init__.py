"""Geography: projection to British National Grid and the spatial units analyses count into."""
