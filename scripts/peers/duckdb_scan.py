#!/usr/bin/env python3
"""Peer for `tripoint bench scale`: DuckDB scanning tripoint's Parquet export
against DuckDB scanning the original ethereum-etl CSVs, the same question
(rows and the exact sum of amounts) asked of both. Prints one JSON object.
Without the CSV arguments (a store generated with no CSVs) only the export
is scanned, and "csv" is null.

Usage: duckdb_scan.py --parquet-dir OUT [--transactions F --token-transfers F]
"""
import argparse
import json
import os

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
    # Amounts are summed exactly as HUGEINT in both: format version 1 has
    # them as decimal text; version 2 as DECIMAL(38,0), with amounts of 10^38
    # and more as text in amount_big (docs/scale.md).
    manifest_path = os.path.join(a.parquet_dir, "tripoint-export.json")
    with open(manifest_path) as f:
        version = json.load(f).get("version")
    exact = {
        1: "CAST(amount AS HUGEINT)",
        2: "coalesce(CAST(amount_d38 AS HUGEINT), CAST(amount_big AS HUGEINT))",
    }.get(version)
    if exact is None:
        ap.error(f"{manifest_path}: format version {version}; this peer reads versions 1 and 2")
    parquet = timed(
        con,
        f"SELECT count(*), sum({exact}) FROM read_parquet(?)",
        [a.parquet_dir.rstrip("/") + "/transfers/*.parquet"],
    )
    parquet["format_version"] = version
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
