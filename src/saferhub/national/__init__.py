"""Many forces at once: `runner.national` runs the per-force verbs in this process or on Dask
(a LocalCluster or a scheduler address) over the same Parquet store; `synthetic` makes a
labelled synthetic national store for tests and benchmarks."""
