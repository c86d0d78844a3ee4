"""The part the DuckDB ingest peers share: load CSVs into a fresh DuckDB file
with given statements, checkpoint, count the stored rows, and report rows/s,
wall time, peak RSS and the file's size. Each peer keeps only its SQL.
"""
import argparse
import os

import duckdb

from measure import Phases, print_result


def database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True)
    parser.add_argument("--threads", type=int, default=0, help="0 = DuckDB's default (all cores)")


def load_and_report(db: str, threads: int, statements, table: str, drop=()) -> None:
    """Run `statements` ([(sql, params)]) into a new file `db`, then print the result."""
    if os.path.exists(db):
        os.remove(db)
    phases = Phases()
    with phases.timed("seconds"):
        con = duckdb.connect(db)
        if threads:
            con.execute(f"SET threads = {threads}")
        for sql, params in statements:
            con.execute(sql, params)
        for name in drop:
            con.execute(f"DROP TABLE {name}")
        con.execute("CHECKPOINT")
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        con.close()
    elapsed = phases.seconds["seconds"]
    print_result({
        "tool": "duckdb",
        "version": duckdb.__version__,
        "rows": rows,
        "seconds": elapsed,
        "rows_per_sec": rows / elapsed if elapsed > 0 else 0.0,
        "db_bytes": os.path.getsize(db),
    })
