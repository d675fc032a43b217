"""National counts of events by month and category, straight from the store's Parquet files.

Two engines read the same live partitions (the catalog names them; a directory scan could catch
files a running writer has staged): DuckDB (one SQL GROUP BY over every file, its own threads)
and pyarrow (each partition grouped in a thread pool, then the small tables summed). Both give
the same table; `engine="auto"` uses the one benchmarks/bench_national_store.py measured faster
on this machine (DuckDB: see benchmarks/RESULTS.md).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from saferhub.errors import SaferhubError

ENGINES = ("duckdb", "pyarrow")
FASTEST = "duckdb"
COLUMNS = ["month", "category", "events"]


def live_files(store=None, force=None, months=None) -> list[str]:
    """The event partitions the catalog names for the forces and months (all when None)."""
    from saferhub.config import resolve_store
    from saferhub.data.store import Catalog, _force_filter, _select_partitions
    from saferhub.months import parse_months

    catalog = Catalog.for_reading(resolve_store(store))
    return _select_partitions(catalog, "events", _force_filter(force), parse_months(months))


def national_counts(store=None, months=None, categories=None, force=None, engine: str = "auto",
                    threads: int | None = None) -> pd.DataFrame:
    """Events by month ('YYYY-MM') and category over every force (or `force`), sorted by month
    and category: columns month, category, events."""
    from saferhub.categories import parse_categories

    engine = FASTEST if engine == "auto" else engine
    if engine not in ENGINES:
        raise SaferhubError(f"unknown engine {engine!r}: use {', '.join(ENGINES)} or auto")
    files = live_files(store, force, months)
    cats = parse_categories(categories)
    if not files:
        out = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(COLUMNS, ("object", "object", "int64"))})
    elif engine == "duckdb":
        out = _duckdb(files, cats, threads)
    else:
        out = _pyarrow(files, cats, threads)
    return out.sort_values(["month", "category"], kind="stable").reset_index(drop=True)


def _duckdb(files: list[str], cats, threads) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        # DuckDB matches the files' columns by name, so partitions written before a column
        # existed read alike (month and category are in every one); union_by_name would read
        # every footer twice. The month is formatted after grouping, not on each row.
        where = "WHERE category IN (SELECT unnest($cats))" if cats is not None else ""
        sql = f"SELECT month, category, count(*) AS events FROM read_parquet($files) {where} GROUP BY ALL"
        params = {"files": files} | ({"cats": list(cats)} if cats is not None else {})
        df = con.execute(sql, params).df()
    finally:
        con.close()
    df["month"] = pd.to_datetime(df["month"]).dt.strftime("%Y-%m")
    df["events"] = df["events"].astype("int64")
    return df[COLUMNS]


def _pyarrow(files: list[str], cats, threads) -> pd.DataFrame:
    value_set = None if cats is None else pa.array(cats)

    def one(path: str) -> pa.Table:
        t = pq.read_table(path, columns=["month", "category"], use_threads=False)
        if value_set is not None:
            t = t.filter(pc.is_in(t["category"], value_set=value_set))
        return t.group_by(["month", "category"]).aggregate([([], "count_all")])

    with ThreadPoolExecutor(max_workers=threads or 2) as pool:
        parts = list(pool.map(one, files))
    t = pa.concat_tables(parts).group_by(["month", "category"]).aggregate([("count_all", "sum")])
    df = t.to_pandas()
    df["month"] = pd.to_datetime(df["month"]).dt.strftime("%Y-%m")
    return df.rename(columns={"count_all_sum": "events"}).astype({"events": "int64"})[COLUMNS]
