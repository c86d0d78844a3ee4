#!/usr/bin/env python3
"""Peer for `tripoint bench ingest`: load the same ethereum-etl CSVs into a
DuckDB file, normalised the way tripoint stores them (native ETH transfers of
successful transactions + token transfers joined to their transaction for the
timestamp), and print one JSON object with the timing and peak RSS.

Usage: duckdb_ingest.py --transactions F --token-transfers F --db PATH
"""
import argparse
import sys

from duckdb_load import database_arguments, load_and_report


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transactions", required=True)
    ap.add_argument("--token-transfers", required=True)
    database_arguments(ap)
    a = ap.parse_args()
    # Amounts are exact 128-bit unsigned integers, like tripoint's (which go up to 256).
    load_and_report(
        a.db,
        a.threads,
        [
            ("""
            CREATE TABLE tx AS
            SELECT hash, block_number, transaction_index, from_address, to_address,
                   value, block_timestamp, receipt_status
            FROM read_csv(?, header = true,
                          types = {'hash': 'VARCHAR', 'block_number': 'UBIGINT',
                                   'transaction_index': 'UINTEGER', 'from_address': 'VARCHAR',
                                   'to_address': 'VARCHAR', 'value': 'UHUGEINT',
                                   'block_timestamp': 'BIGINT', 'receipt_status': 'INTEGER'})
            """,
             [a.transactions]),
            ("""
            CREATE TABLE transfers AS
            SELECT block_number AS block, transaction_index AS tx_index, 0 AS sub_index,
                   hash AS tx_hash, from_address AS src, to_address AS dst,
                   NULL::VARCHAR AS token, value AS amount, block_timestamp AS ts
            FROM tx WHERE receipt_status IS DISTINCT FROM 0
            UNION ALL
            SELECT t.block_number, x.transaction_index, t.log_index + 1, t.transaction_hash,
                   t.from_address, t.to_address, t.token_address, t.value, x.block_timestamp
            FROM read_csv(?, header = true,
                          types = {'token_address': 'VARCHAR', 'from_address': 'VARCHAR',
                                   'to_address': 'VARCHAR', 'value': 'UHUGEINT',
                                   'transaction_hash': 'VARCHAR', 'log_index': 'UINTEGER',
                                   'block_number': 'UBIGINT'}) t
            JOIN tx x ON x.hash = t.transaction_hash AND x.receipt_status IS DISTINCT FROM 0
            """,
             [a.token_transfers]),
        ],
        "transfers",
        drop=("tx",),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
