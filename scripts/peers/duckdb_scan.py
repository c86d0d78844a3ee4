#!/usr/bin/env python3
"""Peer for `tripoint bench scale`: DuckDB scanning tripoint's Parquet export
against DuckDB scanning the original ethereum-etl CSVs, the same question
(rows and the exact sum of amounts) asked of both. Prints one JSON object.
Without the CSV arguments (a store generated with no CSVs) only the export
is scanned, and "csv" is null.

Usage: duckdb_scan.py --parquet-dir OUT [--transactions F --token-transfers F]
"""
import argparse

import duckdb

from measure import Phases, print_result


def timed(con, sql, params):
    phases = Phases()
    with phases.timed("seconds"):
        rows, total = con.execute(sql, params).fetchone()
    return {"seconds": phases.seconds["seconds"], "rows": int(rows), "sum": str(total)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parquet-dir", required=True)
    ap.add_argument("--transactions")
    ap.add_argument("--token-transfers")
    a = ap.parse_args()
    if (a.transactions is None) != (a.token_transfers is None):
        ap.error("--transactions and --token-transfers go together")
    con = duckdb.connect()
    # Amounts are summed exactly (HUGEINT from the exact strings) in both.
    parquet = timed(
        con,
        "SELECT count(*), sum(CAST(amount AS HUGEINT)) FROM read_parquet(?)",
        [a.parquet_dir.rstrip("/") + "/transfers/*.parquet"],
    )
    csv = None if a.transactions is None else timed(
        con,
        """
        SELECT count(*), sum(CAST(v AS HUGEINT)) FROM (
          SELECT value AS v FROM read_csv(?, header = true, types = {'value': 'VARCHAR'})
          UNION ALL
          SELECT value FROM read_csv(?, header = true, types = {'value': 'VARCHAR'}))
        """,
        [a.transactions, a.token_transfers],
    )
    print_result({"parquet": parquet, "csv": csv})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
