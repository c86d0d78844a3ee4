#!/usr/bin/env python3
"""Run a command and print its peak VmRSS, RssAnon (anonymous) and RssFile
(file-backed: mapped store files) in MiB, sampled from /proc/PID/status
every 20 ms, to stderr. Used for docs/scale.md's memory table:
    scripts/peak-rss.py tripoint trace --store S --seed ADDR --format json
"""
import subprocess, sys, time
p = subprocess.Popen(sys.argv[1:])
peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "VmHWM": 0}
t0 = time.time()
while p.poll() is None:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            k = line.split(":")[0]
            if k in peak:
                peak[k] = max(peak[k], int(line.split()[1]))
    except FileNotFoundError:
        pass
    time.sleep(0.02)
print(f"[rss] exit {p.returncode} wall {time.time()-t0:.2f}s " + " ".join(f"{k}={v/1024:.0f}MiB" for k, v in peak.items()), file=sys.stderr)
sys.exit(p.returncode)
