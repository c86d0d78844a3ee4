"""What every peer in this directory reports: the wall time of its phases and
the process's peak RSS, printed as one JSON line that `crates/bench/src/peers.rs`
reads. One place, so every peer measures the same way.
"""
import json
import resource
import sys
import time
from contextlib import contextmanager


def peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Phases:
    """Wall-clock seconds of named phases: `with phases.timed("load_s"): ...`."""

    def __init__(self) -> None:
        self.seconds: dict = {}

    @contextmanager
    def timed(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - started


def print_result(fields: dict, peak_rss: bool = True) -> None:
    """Print `fields` (plus `peak_rss_bytes` unless told not to) as one JSON line."""
    out = dict(fields)
    if peak_rss:
        out["peak_rss_bytes"] = peak_rss_bytes()
    json.dump(out, sys.stdout)
    print(flush=True)
