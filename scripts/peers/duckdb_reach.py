#!/usr/bin/env python3
"""Peer for `tripoint bench trace`: time-respecting reachability (poison
taint) from seed addresses with DuckDB's recursive CTE, on the same edge list
the Rust engine walks.

Usage: duckdb_reach.py EDGES.csv SEED_ID[,SEED_ID...]
EDGES.csv: header `id,src,dst,asset`; `id` is the chain-order transfer id.
Assets are tracked separately, as in the engine: taint in one asset reaches
an address, and only that asset's later payments carry it on.
Prints one JSON line: {"load_s", "query_s", "reached", "peak_rss_bytes"}.

The CTE keeps one row per address (USING KEY) holding the earliest transfer
id by which taint can arrive; a row is replaced only by an earlier arrival,
so each round re-expands only improved addresses (earliest-arrival
Bellman-Ford). A plain UNION over (address, arrival) pairs is equivalent
but quadratic at exchange-sized hubs.
"""
import sys

import duckdb

from measure import Phases, print_result


def main():
    edges, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
    con = duckdb.connect()
    phases = Phases()
    with phases.timed("load_s"):
        load(con, edges, seeds)
    with phases.timed("query_s"):
        reached = reach(con)
    print_result({**phases.seconds, "reached": reached})


def load(con, edges, seeds):
    con.execute(
        f"CREATE TABLE edges AS SELECT id::BIGINT AS id, src::BIGINT AS src, dst::BIGINT AS dst, "
        f"asset::INTEGER AS asset "
        f"FROM read_csv('{edges}', header=true)"
    )
    con.execute("CREATE TABLE seeds(node BIGINT)")
    con.executemany("INSERT INTO seeds VALUES (?)", [[s] for s in seeds])


def reach(con):
    return con.execute(
        """
        WITH RECURSIVE reach(node, asset, t) USING KEY (node, asset) AS (
            SELECT s.node, a.asset, -1::BIGINT AS t
            FROM seeds s, (SELECT DISTINCT asset FROM edges) a
            UNION
            SELECT e.dst AS node, e.asset, min(e.id) AS t
            FROM reach r JOIN edges e
              ON e.src = r.node AND e.asset = r.asset AND e.id > r.t
            GROUP BY e.dst, e.asset
            HAVING min(e.id) < coalesce(
                (SELECT rr.t FROM recurring.reach rr
                 WHERE rr.node = e.dst AND rr.asset = e.asset),
                9223372036854775807)
        )
        SELECT count(DISTINCT node) FROM reach
        """
    ).fetchone()[0]


if __name__ == "__main__":
    main()
