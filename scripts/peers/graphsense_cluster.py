#!/usr/bin/env python3
"""Peer for `tripoint bench trace`: multi-input clustering with PyPI
`graphsense-clustering` (GraphSense's Rust union-find) on the same
transactions tripoint clusters.

Usage: graphsense_cluster.py TXS.txt MAX_ADDRESS_ID
TXS.txt: one multi-input transaction per line, its input address ids
separated by spaces (CoinJoins already excluded, as graphsense-lib does).
Prints one JSON line: {"parse_s", "cluster_s", "transactions", "clusters",
"peak_rss_bytes"}.
Installs graphsense-clustering into this interpreter's environment (the
project's .venv) when it is missing.
"""
import subprocess
import sys

from measure import Phases, print_result

try:
    from gs_clustering import Clustering
except ImportError:
    subprocess.check_call(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "graphsense-clustering==0.2.0"]
    )
    from gs_clustering import Clustering


def main():
    path, max_id = sys.argv[1], int(sys.argv[2])
    phases = Phases()
    with phases.timed("parse_s"):
        with open(path) as f:
            txs = [[int(x) for x in line.split()] for line in f if line.strip()]
    with phases.timed("cluster_s"):
        c = Clustering(max_address_id=max_id)
        c.process_transactions(txs)
        mapping = c.get_mapping()
    clusters = len(set(mapping.column(1).to_pylist())) if mapping.num_rows else 0  # not timed
    print_result({**phases.seconds, "transactions": len(txs), "clusters": clusters})


if __name__ == "__main__":
    main()
