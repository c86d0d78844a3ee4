#!/usr/bin/env python3
"""Peer for `tripoint bench ingest` (traces part): load an ethereum-etl
`traces.csv` into a DuckDB file, normalised the way tripoint stores it
(internal transfers: call frames below the top-level call that move ether,
successful, with their depth-first rank within the transaction), and print
one JSON object with the timing and peak RSS.

Simplification against tripoint: a frame counts when its own `error` is
empty and its `status` is not 0; tripoint also drops every frame below a
failed one and derives WETH mints and burns (the generated input has no
failed frames, so the counts agree; the bench prints both).

Usage: duckdb_traces.py --traces F --db PATH
"""
import argparse
import sys

from duckdb_load import database_arguments, load_and_report


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", required=True)
    database_arguments(ap)
    a = ap.parse_args()
    # Rows keep the file's order (DuckDB preserves insertion order), which is
    # ethereum-etl's depth-first order within a transaction: the rank is the
    # row's number within its transaction.
    load_and_report(
        a.db,
        a.threads,
        [
            ("""
            CREATE TABLE internal AS
            SELECT block_number AS block, transaction_index AS tx_index, rank,
                   transaction_hash AS tx_hash, from_address AS src, to_address AS dst,
                   value AS amount, block_timestamp AS ts
            FROM (
                SELECT *, row_number() OVER (PARTITION BY transaction_hash ORDER BY rn) - 1 AS rank
                FROM (
                    SELECT *, row_number() OVER () AS rn
                    FROM read_csv(?, header = true, quote = '"', escape = '"',
                                  types = {'block_number': 'UBIGINT', 'transaction_hash': 'VARCHAR',
                                           'transaction_index': 'UINTEGER', 'from_address': 'VARCHAR',
                                           'to_address': 'VARCHAR', 'value': 'UHUGEINT',
                                           'trace_type': 'VARCHAR', 'call_type': 'VARCHAR',
                                           'subtraces': 'UINTEGER', 'trace_address': 'VARCHAR',
                                           'error': 'VARCHAR', 'status': 'INTEGER',
                                           'block_timestamp': 'BIGINT'})
                )
            )
            WHERE trace_address IS NOT NULL AND trace_address <> ''
              AND value > 0 AND error IS NULL AND status IS DISTINCT FROM 0
              AND (call_type IS NULL OR call_type NOT IN ('delegatecall', 'staticcall', 'callcode'))
            """,
             [a.traces]),
        ],
        "internal",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
