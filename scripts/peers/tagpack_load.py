#!/usr/bin/env python3
"""Peer for `tripoint bench watch` (labels part): load the same GraphSense
TagPacks and actor packs with PyYAML (its C loader when built with libyaml)
into an address -> tags dict, the header fields applied to every tag, and
print one JSON object with the timing and peak RSS.

Usage: tagpack_load.py FILE...
"""
import json
import resource
import sys
import time

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def main() -> int:
    started = time.perf_counter()
    by_address = {}
    actors = {}
    tags = 0
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=Loader) or {}
        for a in doc.get("actors", []) or []:
            actors[a.get("id")] = a
        header = {k: v for k, v in doc.items() if k != "tags"}
        for t in doc.get("tags", []) or []:
            tag = dict(header)
            tag.update(t)
            by_address.setdefault(str(tag.get("address", "")).lower(), []).append(tag)
            tags += 1
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "seconds": seconds,
        "tags": tags,
        "addresses": len(by_address),
        "actors": len(actors),
        "peak_rss_bytes": rss,
        "loader": Loader.__name__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
