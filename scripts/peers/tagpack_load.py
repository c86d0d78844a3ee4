#!/usr/bin/env python3
"""Peer for `tripoint bench watch` (labels part): load the same GraphSense
TagPacks and actor packs with PyYAML (its C loader when built with libyaml)
into an address -> tags dict, the header fields applied to every tag, and
print one JSON object with the timing and peak RSS.

Usage: tagpack_load.py FILE...
"""
import sys

import yaml

from measure import Phases, print_result

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def main() -> int:
    phases = Phases()
    by_address = {}
    actors = {}
    with phases.timed("seconds"):
        load(sys.argv[1:], by_address, actors)
    tags = sum(len(v) for v in by_address.values())
    print_result({
        "seconds": phases.seconds["seconds"],
        "tags": tags,
        "addresses": len(by_address),
        "actors": len(actors),
        "loader": Loader.__name__,
    })
    return 0


def load(paths, by_address, actors):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=Loader) or {}
        for a in doc.get("actors", []) or []:
            actors[a.get("id")] = a
        header = {k: v for k, v in doc.items() if k != "tags"}
        for t in doc.get("tags", []) or []:
            tag = dict(header)
            tag.update(t)
            by_address.setdefault(str(tag.get("address", "")).lower(), []).append(tag)


if __name__ == "__main__":
    sys.exit(main())
